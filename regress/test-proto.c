/*
 * regress/test-proto.c: the frame codec.  Frames built with proto_add come
 * back whole from proto_take however the bytes arrive; short input waits;
 * empty and oversized frames are refused with a reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/common.h"
#include "common/proto.h"

#include <cmocka.h>

static int
take(struct evbuffer *evb, uint8_t *type, char **data, size_t *len,
    char **cause)
{
	*cause = NULL;
	return (proto_take(evb, type, data, len, cause));
}

/* Round trip: a JSON frame, an empty frame and a 100k binary frame. */
struct t_frames {
	struct evbuffer	*evb;
	char		 big[100000];
};

static int
t_three_frames(void **state)
{
	struct t_frames	*t = calloc(1, sizeof *t);
	int		 i;

	if (t == NULL)
		return (-1);
	t->evb = evbuffer_new();
	proto_add_json(t->evb, MSG_HELLO, "{\"proto\":[1,1]}");
	proto_add(t->evb, MSG_OUTPUT, "", 0);
	for (i = 0; i < (int)sizeof t->big; i++)
		t->big[i] = i * 7;
	proto_add(t->evb, MSG_PASTE, t->big, sizeof t->big);
	*state = t;
	return (0);
}

static int
t_free_frames(void **state)
{
	struct t_frames	*t = *state;

	evbuffer_free(t->evb);
	free(t);
	return (0);
}

/* Take the next n frames, which must be there, and throw them away. */
static void
t_skip(struct evbuffer *evb, int n)
{
	uint8_t	 type;
	char	*data, *cause;
	size_t	 len;

	while (n-- > 0) {
		assert_int_equal(take(evb, &type, &data, &len, &cause), 1);
		free(data);
	}
}

static void
json_frame_round_trips_with_type_and_text(void **state)
{
	struct t_frames	*t = *state;
	uint8_t		 type;
	char		*data, *cause;
	size_t		 len;

	assert_int_equal(take(t->evb, &type, &data, &len, &cause), 1);
	assert_int_equal(type, MSG_HELLO);
	assert_int_equal(len, 15);
	assert_string_equal(data, "{\"proto\":[1,1]}");
	free(data);
}

static void
empty_payload_frame_round_trips(void **state)
{
	struct t_frames	*t = *state;
	uint8_t		 type;
	char		*data, *cause;
	size_t		 len;

	t_skip(t->evb, 1);
	assert_int_equal(take(t->evb, &type, &data, &len, &cause), 1);
	assert_int_equal(type, MSG_OUTPUT);
	assert_int_equal(len, 0);
	assert_int_equal(data[0], '\0');
	free(data);
}

static void
binary_100k_frame_round_trips_byte_for_byte(void **state)
{
	struct t_frames	*t = *state;
	uint8_t		 type;
	char		*data, *cause;
	size_t		 len;

	t_skip(t->evb, 2);
	assert_int_equal(take(t->evb, &type, &data, &len, &cause), 1);
	assert_int_equal(type, MSG_PASTE);
	assert_int_equal(len, sizeof t->big);
	assert_memory_equal(data, t->big, sizeof t->big);
	free(data);
}

static void
nothing_left_after_three_frames(void **state)
{
	struct t_frames	*t = *state;
	uint8_t		 type;
	char		*data, *cause;
	size_t		 len;

	t_skip(t->evb, 3);
	assert_int_equal(take(t->evb, &type, &data, &len, &cause), 0);
	assert_int_equal(evbuffer_get_length(t->evb), 0);
}

static void
frames_fed_byte_by_byte_complete_at_their_last_byte(void **state __unused)
{
	struct evbuffer	*all = evbuffer_new(), *in = evbuffer_new();
	uint8_t		 type, byte;
	char		*data, *cause;
	size_t		 len, total, i, last[2];
	int		 got = 0;

	proto_add(all, MSG_KEYS, "\0\0\0\0\0\0\0A", 8);
	proto_add_json(all, MSG_COMMAND, "{\"id\":1,\"argv\":[\"ls\"]}");
	total = evbuffer_get_length(all);
	last[0] = 12;		/* 5-byte header + 8 bytes, less one */
	last[1] = total - 1;
	for (i = 0; i < total; i++) {
		evbuffer_remove(all, &byte, 1);
		evbuffer_add(in, &byte, 1);
		while (take(in, &type, &data, &len, &cause) == 1) {
			free(data);
			assert_in_range(got, 0, 1);
			assert_int_equal(i, last[got]);
			got++;
		}
	}
	assert_int_equal(got, 2);
	evbuffer_free(all);
	evbuffer_free(in);
}

/* Refusals: take from a buffer holding just these bytes. */
static int
t_take_bytes(const void *bytes, size_t size, char **cause)
{
	struct evbuffer	*evb = evbuffer_new();
	uint8_t		 type;
	char		*data;
	size_t		 len;
	int		 rc;

	evbuffer_add(evb, bytes, size);
	rc = take(evb, &type, &data, &len, cause);
	if (rc == 1)
		free(data);
	evbuffer_free(evb);
	return (rc);
}

static const uint8_t t_huge[5] = { 0x7f, 0xff, 0xff, 0xff, MSG_HELLO };

static void
oversized_length_is_refused_with_a_reason(void **state __unused)
{
	char	*cause;

	assert_int_equal(t_take_bytes(t_huge, sizeof t_huge, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "exceeds"));
	free(cause);
}

static void
zero_length_frame_is_refused(void **state __unused)
{
	uint8_t	 zero[5] = { 0, 0, 0, 0, 0 };
	char	*cause;

	assert_int_equal(t_take_bytes(zero, sizeof zero, &cause), -1);
	assert_non_null(cause);
	assert_non_null(strstr(cause, "empty"));
	free(cause);
}

static void
one_byte_over_the_limit_is_refused_before_the_body_arrives(
    void **state __unused)
{
	uint32_t	 n = PROTO_MAX_FRAME + 1;
	uint8_t		 edge[5];
	char		*cause;

	edge[0] = n >> 24;
	edge[1] = n >> 16;
	edge[2] = n >> 8;
	edge[3] = n;
	edge[4] = MSG_HELLO;

	assert_int_equal(t_take_bytes(edge, sizeof edge, &cause), -1);
	free(cause);
}

static void
a_partial_header_waits_for_more(void **state __unused)
{
	char	*cause;

	assert_int_equal(t_take_bytes(t_huge, 3, &cause), 0);
	free(cause);
}

/* Integers and names. */
static void
key_codes_travel_big_endian_in_8_bytes(void **state __unused)
{
	uint8_t	 b[8];

	proto_put64(b, 0x0102030405060708ULL);
	assert_int_equal(b[0], 1);
	assert_int_equal(b[7], 8);
	assert_int_equal(proto_get64(b), 0x0102030405060708ULL);
}

static void
sizes_travel_big_endian_in_2_bytes(void **state __unused)
{
	uint8_t	 b[2];

	proto_put16(b, 0xbeef);
	assert_int_equal(b[0], 0xbe);
	assert_int_equal(b[1], 0xef);
	assert_int_equal(proto_get16(b), 0xbeef);
}

static void
type_names_for_logs_including_unknown_types(void **state __unused)
{
	assert_string_equal(proto_type_name(MSG_DETACH), "detach");
	assert_string_equal(proto_type_name(200), "unknown");
}

#define T_ON(test) \
	cmocka_unit_test_setup_teardown(test, t_three_frames, t_free_frames)

int
main(void)
{
	const struct CMUnitTest proto[] = {
		T_ON(json_frame_round_trips_with_type_and_text),
		T_ON(empty_payload_frame_round_trips),
		T_ON(binary_100k_frame_round_trips_byte_for_byte),
		T_ON(nothing_left_after_three_frames),
		cmocka_unit_test(
		    frames_fed_byte_by_byte_complete_at_their_last_byte),
		cmocka_unit_test(oversized_length_is_refused_with_a_reason),
		cmocka_unit_test(zero_length_frame_is_refused),
		cmocka_unit_test(
		    one_byte_over_the_limit_is_refused_before_the_body_arrives),
		cmocka_unit_test(a_partial_header_waits_for_more),
		cmocka_unit_test(key_codes_travel_big_endian_in_8_bytes),
		cmocka_unit_test(sizes_travel_big_endian_in_2_bytes),
		cmocka_unit_test(type_names_for_logs_including_unknown_types),
	};

	return (cmocka_run_group_tests(proto, NULL, NULL));
}
