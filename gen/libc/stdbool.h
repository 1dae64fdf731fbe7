// Minimal hermetic <stdbool.h>: bool, true and false are C23 keywords.
#pragma once
#define __bool_true_false_are_defined 1
