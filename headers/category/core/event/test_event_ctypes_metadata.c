// Metadata of the TEST content type.

#include <stdint.h>

#include <category/core/event/event_metadata.h>
#include <category/core/event/test_event_ctypes.h>

#ifdef __cplusplus
extern "C"
{
#endif

struct monad_event_metadata const
    g_monad_test_event_metadata[MONAD_TEST_EVENT_COUNT] = {
        [MONAD_TEST_EVENT_NONE] = {.event_type = MONAD_TEST_EVENT_NONE,
                                   .c_name = "NONE",
                                   .description = "reserved invalid code"},
        [MONAD_TEST_EVENT_RECORD_ERROR] =
            {.event_type = MONAD_TEST_EVENT_RECORD_ERROR,
             .c_name = "RECORD_ERROR",
             .description = "an event could not be recorded"},
        [MONAD_TEST_EVENT_COUNTER] = {.event_type = MONAD_TEST_EVENT_COUNTER,
                                      .c_name = "TEST_COUNTER",
                                      .description = "a writer's counter"},
        [MONAD_TEST_EVENT_VLT] = {.event_type = MONAD_TEST_EVENT_VLT,
                                  .c_name = "TEST_VLT",
                                  .description = "two test arrays trail the "
                                                 "payload"},
};

// The test schema has no real fingerprint.
uint8_t const g_monad_test_event_schema_hash[32] = {0};

#ifdef __cplusplus
} // extern "C"
#endif
