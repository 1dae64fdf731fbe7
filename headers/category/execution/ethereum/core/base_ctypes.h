// Vocabulary types shared by every execution C type: fixed-size byte strings
// and 256-bit integers, all with the in-memory layout of x86-64 Linux.

#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

// 32 raw bytes (hashes, storage keys and values); no byte swapping.
typedef struct
{
    uint8_t bytes[32];
} monad_c_bytes32;

// 20-byte account address.
typedef struct
{
    uint8_t bytes[20];
} monad_c_address;

// 8 raw bytes (the block header nonce).
typedef struct
{
    uint8_t bytes[8];
} monad_c_b64;

// 2048-bit logs bloom filter.
typedef struct
{
    uint8_t bytes[256];
} monad_c_bloom256;

// Unsigned 256-bit integer in native (little-endian) limb order: limbs[0]
// holds the least significant 64 bits.
typedef struct
{
    uint64_t limbs[4];
} monad_c_uint256_ne;

// Compressed secp256k1 public key.
struct monad_c_secp256k1_pubkey
{
    uint8_t y_parity;  // parity of the point's y coordinate
    monad_c_bytes32 x; // x coordinate, big-endian
};

static_assert(sizeof(monad_c_uint256_ne) == 32);
static_assert(sizeof(struct monad_c_secp256k1_pubkey) == 33);

#ifdef __cplusplus
} // extern "C"
#endif
