// Monad-specific block inputs.

#pragma once

#include <category/execution/ethereum/core/base_ctypes.h>

#ifdef __cplusplus
extern "C"
{
#endif

// Inputs of the Monad fee market; all zero when not applicable.
struct monad_c_native_block_input
{
    monad_c_uint256_ne base_fee_trend;  // base fee trend accumulator
    monad_c_uint256_ne base_fee_moment; // base fee moment accumulator
};

#ifdef __cplusplus
} // extern "C"
#endif
