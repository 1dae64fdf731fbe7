#include <stdint.h>

#include "synth.h"

void const *const synth_nothing = nullptr;

struct monad_event_metadata const g_synth_metadata[SYNTH_EVENT_COUNT] = {
    [SYNTH_BIG] = {.event_type = SYNTH_BIG, .c_name = "BIG", .description = "every " "construct"},
    [SYNTH_NONE] = {.event_type = SYNTH_NONE, .c_name = "NONE", .description = "invalid"},
    [SYNTH_PING] = {.event_type = SYNTH_PING,
                    .c_name = "PING",
                    .description = "a scalar "
                                   "payload"},
    [SYNTH_TAGGED] = {.event_type = SYNTH_TAGGED, .c_name = "TAGGED", .description = "an alias payload"},
    [SYNTH_BLOB] = {.event_type = SYNTH_BLOB, .c_name = "BLOB", .description = "trailing arrays"},
    [SYNTH_EMPTY] = {.event_type = SYNTH_EMPTY, .c_name = "EMPTY", .description = "no payload"},
    // Positional member initializers, in declaration order.
    [SYNTH_ATTRS] = {SYNTH_ATTRS, "ATTRS", "alignment " "attributes"},
    {SYNTH_PACKED, "PACKED", "a packed payload"},
    [SYNTH_DIGEST] = {SYNTH_DIGEST, "DIGEST", "a byte string payload"},
};

uint8_t const g_synth_schema_hash[32] = {0x01, 0x02, [31] = 0xff};
