// Per-event-type metadata records, emitted by the schema code generator next
// to each content type's payload definitions (the names and descriptions that
// tools print).

#pragma once

#include <stdint.h>

#ifdef __cplusplus
extern "C"
{
#endif

struct monad_event_metadata
{
    uint16_t event_type;     // enumeration constant of the content type
    char const *c_name;      // short name, the constant minus its prefix
    char const *description; // one-line human readable description
};

#ifdef __cplusplus
} // extern "C"
#endif
