// Unit-test schema (content type TEST): two event types used by the event
// ring's own tests. Its schema hash is all zeros.

#pragma once

#include <stdint.h>

#include <category/core/event/event_metadata.h>
#include <category/core/event/event_ring.h>

#ifdef __cplusplus
extern "C"
{
#endif

enum monad_test_event : uint16_t
{
    MONAD_TEST_EVENT_NONE,
    MONAD_TEST_EVENT_RECORD_ERROR,
    MONAD_TEST_EVENT_COUNTER,
    MONAD_TEST_EVENT_VLT,
};

constexpr uint16_t MONAD_TEST_EVENT_COUNT = 4;

// TEST_COUNTER: a per-writer counter.
struct monad_test_event_counter
{
    uint8_t writer_id;
    uint64_t counter;
};

// TEST_VLT: two lengths of test arrays that follow the struct; their units
// are defined by the test that records them.
struct monad_test_event_vlt
{
    uint32_t vlt_1_length;
    uint32_t vlt_2_length;
};

extern struct monad_event_metadata const
    g_monad_test_event_metadata[MONAD_TEST_EVENT_COUNT];

extern uint8_t const g_monad_test_event_schema_hash[32];

#ifdef __cplusplus
} // extern "C"
#endif
