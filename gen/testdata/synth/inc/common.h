// Included twice by synth.h: #pragma once must keep the second copy out.
#pragma once

#include <stdint.h>

typedef struct
{
    uint8_t bytes[32];
} synth_hash;

struct synth_inner
{
    uint16_t a;
    uint8_t b;
};
