// Event ring: the shared-memory file layout (header, descriptor array,
// payload buffer, context area) that every content type shares.
//
// Transcribed for monadgo/events from the public format description; the
// names, types, member order and enumerator values are those of the daemon,
// the comments are ours. Layout reference: spec §1-§2.

#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include <category/core/likely.h>

#ifdef __cplusplus
extern "C"
{
#endif

// Which event schema a ring carries; selects the namespace of
// descriptor.event_type and the meaning of descriptor.content_ext.
enum monad_event_content_type : uint16_t
{
    MONAD_EVENT_CONTENT_TYPE_NONE,  // never valid in a file
    MONAD_EVENT_CONTENT_TYPE_TEST,  // unit-test schema
    MONAD_EVENT_CONTENT_TYPE_EXEC,  // execution events
    MONAD_EVENT_CONTENT_TYPE_COUNT, // number of content types
};

// Sizes of the sections that follow the 2 MiB header section.
struct monad_event_ring_size
{
    size_t descriptor_capacity; // descriptor slots, a power of two
    size_t payload_buf_size;    // payload buffer bytes, a power of two
    size_t context_area_size;   // opaque per-content-type area, 0 for EXEC
};

// Writer allocation state. The two alignas(64) members keep the hot
// counters and the rarely moving window start on separate cache lines.
struct monad_event_ring_control
{
    alignas(64) uint64_t last_seqno; // highest sequence number reserved
    uint64_t next_payload_byte;      // virtual offset of the next payload
    alignas(64) uint64_t buffer_window_start; // lowest still-valid offset
};

// First bytes of the ring file.
struct monad_event_ring_header
{
    char magic[6];                             // "RING01", no terminator
    enum monad_event_content_type content_type; // schema namespace
    uint8_t schema_hash[32];                   // fingerprint of the schema
    struct monad_event_ring_size size;         // section sizes
    struct monad_event_ring_control control;   // writer state
};

// One 64-byte slot of the descriptor array.
struct monad_event_descriptor
{
    alignas(64) uint64_t seqno; // 0 while the slot is being written
    uint16_t event_type;        // code from the content type's enum
    uint16_t : 16;              // unused, keeps payload_size 4-aligned
    uint32_t payload_size;      // exact, unrounded payload length
    uint64_t record_epoch_nanos; // wall clock at reservation
    uint64_t payload_buf_offset; // virtual offset of the payload
    uint64_t content_ext[4];    // content-type specific words
};

// Why an event was replaced by a RECORD_ERROR event.
enum monad_event_record_error_type : uint16_t
{
    MONAD_EVENT_RECORD_ERROR_NONE,
    MONAD_EVENT_RECORD_ERROR_OVERFLOW_4GB,    // rounded size above 4 GiB
    MONAD_EVENT_RECORD_ERROR_OVERFLOW_EXPIRE, // would expire at birth
    MONAD_EVENT_RECORD_ERROR_MISSING_EVENT,   // reserved
};

// Leading bytes of a RECORD_ERROR payload (event code 1 of every schema).
struct monad_event_record_error
{
    alignas(16) enum monad_event_record_error_type error_type;
    uint16_t dropped_event_type;     // code of the event that was dropped
    uint32_t truncated_payload_size; // dropped bytes kept after this struct
    uint64_t requested_payload_size; // unrounded size that was requested
};

// A ring mapped into this process: pointers to its sections and the masks
// that turn sequence numbers and virtual offsets into positions.
struct monad_event_ring
{
    struct monad_event_ring_header *header;
    struct monad_event_descriptor *descriptors;
    uint8_t *payload_buf;
    void *context_area;
    size_t desc_capacity_mask;
    size_t payload_buf_mask;
};

// Reports whether the payload of an event has not been overwritten yet;
// call it after reading the payload (spec §4.4).
[[gnu::always_inline]] static inline bool monad_event_ring_payload_check(
    struct monad_event_ring const *event_ring,
    struct monad_event_descriptor const *event)
{
    uint64_t const window_start = __atomic_load_n(
        &event_ring->header->control.buffer_window_start, __ATOMIC_ACQUIRE);
    return MONAD_LIKELY(event->payload_buf_offset >= window_start);
}

// Returns the payload of an event, or nullptr when the ring has none.
static inline void const *monad_event_ring_payload_peek(
    struct monad_event_ring const *event_ring,
    struct monad_event_descriptor const *event)
{
    if (MONAD_UNLIKELY(event_ring->payload_buf == nullptr)) {
        return nullptr;
    }
    return event_ring->payload_buf +
           (event->payload_buf_offset & event_ring->payload_buf_mask);
}

// Copies a payload out of the ring; returns nullptr if it expired.
static inline void *monad_event_ring_payload_memcpy(
    struct monad_event_ring const *event_ring,
    struct monad_event_descriptor const *event, void *dst, size_t n)
{
    if (!monad_event_ring_payload_check(event_ring, event)) {
        return nullptr;
    }
    memcpy(dst, monad_event_ring_payload_peek(event_ring, event), n);
    return monad_event_ring_payload_check(event_ring, event) ? dst : nullptr;
}

// Every schema reserves code 1 for RECORD_ERROR.
constexpr uint16_t MONAD_EVENT_RECORD_ERROR_EVENT_TYPE = 1;

static_assert(sizeof(struct monad_event_descriptor) == 64);
static_assert(sizeof(struct monad_event_ring_header) == 192);
static_assert(alignof(struct monad_event_record_error) == 16);

#ifdef __cplusplus
} // extern "C"
#endif
