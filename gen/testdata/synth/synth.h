// Synthetic schema exercising every construct the generator supports.
#pragma once

#include <assert.h>
#include <limits.h>
#include <stdalign.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "inc/common.h"
#include "inc/guarded.h"
#include <inc/common.h>

#ifdef __cplusplus
extern "C"
{
#endif

enum synth_kind : uint8_t; // forward declaration with its underlying type

// What real daemon headers also carry and the generator must get past:
// function-like macros, function pointer typedefs, GNU attributes.
#define SYNTH_LIKELY(x) __builtin_expect(!!(x), 1)
#define MONAD_EVENT_SYNTH_BIT(n) (UINT64_C(1) << (n))

typedef void (*synth_callback)(void *arg, size_t len);

#if __has_include(<stdint.h>) && defined(__has_attribute)
#if __has_attribute(always_inline) && __has_builtin(__builtin_expect)
#define SYNTH_INLINE [[gnu::always_inline]] static inline
#endif
#endif

// Feature tests answer as clang does where the generator supports the
// feature (TestFeatureTests covers where it must answer otherwise).
#if __has_include(<no_such_header.h>) || __has_builtin(__builtin_no_such) || __has_attribute(no_such) || \
    !__has_attribute(packed) || !__has_c_attribute(gnu::aligned) || __has_c_attribute(nodiscard) != 202003L
#error "a feature test answered wrongly"
#endif

constexpr uint64_t SYNTH_WIDE_MASK = MONAD_EVENT_SYNTH_BIT(40) - 1; // > INT_MAX
constexpr uint64_t SYNTH_ALL_ONES = UINT64_MAX;

constexpr size_t SYNTH_SLOTS = 1'0 - 7; // digit separator; 3

// Several declarators in one constexpr declaration; B depends on A.
constexpr uint32_t SYNTH_PAIR_A = 2, SYNTH_PAIR_B = SYNTH_PAIR_A * 3;
static_assert(SYNTH_PAIR_B == 6);

enum synth_event_type : uint16_t
{
    SYNTH_NONE,
    SYNTH_PING,
    SYNTH_BIG,
    SYNTH_TAGGED,
    SYNTH_BLOB,
    SYNTH_EMPTY,
    SYNTH_ATTRS,
    SYNTH_PACKED,
    SYNTH_DIGEST,
};

constexpr uint16_t SYNTH_EVENT_COUNT = SYNTH_DIGEST + 1;

enum synth_kind : uint8_t
{
    SYNTH_KIND_A = 1,
    SYNTH_KIND_B = 200,
};

typedef enum synth_signed : int32_t
{
    SYNTH_SIGNED_LOW = -5,
    SYNTH_SIGNED_HIGH = 70'000,
} synth_signed;

enum synth_flags : uint64_t
{
    SYNTH_FLAGS_LOW = 1,
    SYNTH_FLAGS_HIGH = UINT64_C(1) << 63, // past INT64_MAX
};

typedef uint32_t synth_ping; // scalar payload

typedef struct synth_tag // one type under both names
{
    synth_hash id;
    uint64_t n;
} synth_tag;

typedef struct synth_tag synth_tagged; // struct payload by another name

typedef synth_hash synth_digest; // a byte string payload

struct synth_big
{
    enum synth_kind kind;
    bool flag;
    alignas(64) uint32_t hot;
    uint16_t : 16;
    uint32_t low : 3;
    uint32_t mid : 10;
    int32_t neg : 5;
    __uint128_t wide;
    struct synth_inner inner[SYNTH_SLOTS];
    uint64_t words[2];
    enum synth_signed s;
};

struct synth_blob
{
    uint32_t key_count;
    uint8_t pad;
    uint64_t len;
};

// Alignment spelled three ways, and a static_assert among the members.
struct synth_attrs
{
    uint8_t a;
    _Alignas(8) uint16_t b;
    uint32_t c __attribute__((aligned(16)));
    static_assert(sizeof(uint32_t) == 4);
    alignas(uint64_t) uint8_t d;
};

// A packed struct: members at offsets Go cannot align.
struct __attribute__((packed)) synth_packed
{
    uint8_t tag;
    uint32_t value;
    uint16_t more;
};

[[nodiscard]] int synth_check(void const *p [[maybe_unused]]);

__attribute__((visibility("default"))) extern int synth_version(void);

// An inline helper, as event_ring.h has: builtins, macros, libc calls.
SYNTH_INLINE uint64_t
synth_blob_len(struct synth_blob const *b, synth_callback cb)
{
    uint64_t n;
    memcpy(&n, &b->len, sizeof n);
    if (SYNTH_LIKELY(cb != nullptr)) {
        cb(&n, sizeof n);
    }
    return n & SYNTH_WIDE_MASK;
}

static_assert(sizeof(struct synth_big) == 192);
static_assert(alignof(struct synth_big) == 64, "two-argument form");
static_assert(SYNTH_SLOTS == 3);

struct monad_event_metadata
{
    uint16_t event_type;
    char const *c_name;
    char const *description;
};

extern struct monad_event_metadata const g_synth_metadata[SYNTH_EVENT_COUNT];
extern uint8_t const g_synth_schema_hash[32];

static constexpr char SYNTH_FILE_NAME[] = "synth-"
                                          "events";

// Object-like macros read as constants, as a daemon header may spell what
// this one spells constexpr; the last five are not constants.
#define SYNTH_MACRO_COUNT 12
#define SYNTH_MACRO_MASK (UINT64_C(1) << 40)
#define SYNTH_MACRO_BIG 0xFFFF'FFFF'FFFF'FFFFull
#define SYNTH_MACRO_NEG (-(int32_t)5)
#define SYNTH_MACRO_SUM (SYNTH_MACRO_COUNT + SYNTH_PAIR_B)
#define SYNTH_MACRO_SIZE sizeof(struct synth_inner)
#define SYNTH_MACRO_NAME "synth-" \
                         "macro"
#define SYNTH_MACRO_EMPTY
#define SYNTH_MACRO_TYPE uint32_t
#define SYNTH_MACRO_FLOAT 1.5
#define _SYNTH_RESERVED 1
#define SYNTH_MACRO_REDEFINED 1
#undef SYNTH_MACRO_REDEFINED

#ifdef __cplusplus
} // extern "C"
#endif
