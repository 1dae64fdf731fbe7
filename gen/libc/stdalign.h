// Minimal hermetic <stdalign.h>: alignas and alignof are C23 keywords.
#pragma once
#define __alignas_is_defined 1
#define __alignof_is_defined 1
