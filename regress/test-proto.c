/*
 * regress/test-proto.c: the frame codec.  Frames built with proto_add come
 * back whole from proto_take however the bytes arrive; short input waits;
 * empty and oversized frames are refused with a reason.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "common/common.h"
#include "common/proto.h"
#include "regress/tap.h"

static int
take(struct evbuffer *evb, uint8_t *type, char **data, size_t *len,
    char **cause)
{
	*cause = NULL;
	return (proto_take(evb, type, data, len, cause));
}

static void
test_round_trip(void)
{
	struct evbuffer	*evb = evbuffer_new();
	uint8_t		 type;
	char		*data, *cause, big[100000];
	size_t		 len;
	int		 i;

	proto_add_json(evb, MSG_HELLO, "{\"proto\":[1,1]}");
	proto_add(evb, MSG_OUTPUT, "", 0);
	for (i = 0; i < (int)sizeof big; i++)
		big[i] = i * 7;
	proto_add(evb, MSG_PASTE, big, sizeof big);

	TAP_OK(take(evb, &type, &data, &len, &cause) == 1 &&
	    type == MSG_HELLO && len == 15 &&
	    strcmp(data, "{\"proto\":[1,1]}") == 0,
	    "json_frame_round_trips_with_type_and_text");
	free(data);
	TAP_OK(take(evb, &type, &data, &len, &cause) == 1 &&
	    type == MSG_OUTPUT && len == 0 && data[0] == '\0',
	    "empty_payload_frame_round_trips");
	free(data);
	TAP_OK(take(evb, &type, &data, &len, &cause) == 1 &&
	    type == MSG_PASTE && len == sizeof big &&
	    memcmp(data, big, sizeof big) == 0,
	    "binary_100k_frame_round_trips_byte_for_byte");
	free(data);
	TAP_OK(take(evb, &type, &data, &len, &cause) == 0 &&
	    evbuffer_get_length(evb) == 0, "nothing_left_after_three_frames");
	evbuffer_free(evb);
}

static void
test_split_arrival(void)
{
	struct evbuffer	*all = evbuffer_new(), *in = evbuffer_new();
	uint8_t		 type, byte;
	char		*data, *cause;
	size_t		 len, total, i;
	int		 got = 0, early = 0;

	proto_add(all, MSG_KEYS, "\0\0\0\0\0\0\0A", 8);
	proto_add_json(all, MSG_COMMAND, "{\"id\":1,\"argv\":[\"ls\"]}");
	total = evbuffer_get_length(all);
	for (i = 0; i < total; i++) {
		evbuffer_remove(all, &byte, 1);
		evbuffer_add(in, &byte, 1);
		while (take(in, &type, &data, &len, &cause) == 1) {
			if ((got == 0 && i != 12) || (got == 1 && i != total - 1))
				early = 1;
			got++;
			free(data);
		}
	}
	TAP_OK(got == 2 && !early,
	    "frames_fed_byte_by_byte_complete_exactly_at_their_last_byte");
	evbuffer_free(all);
	evbuffer_free(in);
}

static void
test_refusals(void)
{
	struct evbuffer	*evb = evbuffer_new();
	uint8_t		 type, hdr[5] = { 0x7f, 0xff, 0xff, 0xff, MSG_HELLO };
	uint8_t		 zero[5] = { 0, 0, 0, 0, 0 };
	uint8_t		 edge[5];
	char		*data, *cause;
	size_t		 len;
	uint32_t	 n = PROTO_MAX_FRAME + 1;

	evbuffer_add(evb, hdr, sizeof hdr);
	TAP_OK(take(evb, &type, &data, &len, &cause) == -1 && cause != NULL &&
	    strstr(cause, "exceeds") != NULL,
	    "oversized_length_is_refused_with_a_reason");
	free(cause);
	evbuffer_drain(evb, evbuffer_get_length(evb));

	evbuffer_add(evb, zero, sizeof zero);
	TAP_OK(take(evb, &type, &data, &len, &cause) == -1 && cause != NULL &&
	    strstr(cause, "empty") != NULL, "zero_length_frame_is_refused");
	free(cause);
	evbuffer_drain(evb, evbuffer_get_length(evb));

	edge[0] = n >> 24;
	edge[1] = n >> 16;
	edge[2] = n >> 8;
	edge[3] = n;
	edge[4] = MSG_HELLO;
	evbuffer_add(evb, edge, 5);
	TAP_OK(take(evb, &type, &data, &len, &cause) == -1,
	    "one_byte_over_the_limit_is_refused_before_the_body_arrives");
	free(cause);
	evbuffer_drain(evb, evbuffer_get_length(evb));

	evbuffer_add(evb, hdr, 3);
	TAP_OK(take(evb, &type, &data, &len, &cause) == 0,
	    "a_partial_header_waits_for_more");
	evbuffer_free(evb);
}

static void
test_integers(void)
{
	uint8_t	 b[8];

	proto_put64(b, 0x0102030405060708ULL);
	TAP_OK(b[0] == 1 && b[7] == 8 &&
	    proto_get64(b) == 0x0102030405060708ULL,
	    "key_codes_travel_big_endian_in_8_bytes");
	proto_put16(b, 0xbeef);
	TAP_OK(b[0] == 0xbe && b[1] == 0xef && proto_get16(b) == 0xbeef,
	    "sizes_travel_big_endian_in_2_bytes");
	TAP_OK(strcmp(proto_type_name(MSG_DETACH), "detach") == 0 &&
	    strcmp(proto_type_name(200), "unknown") == 0,
	    "type_names_for_logs_including_unknown_types");
}

int
main(void)
{
	test_round_trip();
	test_split_arrival();
	test_refusals();
	test_integers();
	return (tap_done());
}
