// Minimal hermetic <string.h>: declarations only.
#pragma once
#include <stddef.h>
void *memcpy(void *, void const *, size_t);
void *memset(void *, int, size_t);
int memcmp(void const *, void const *, size_t);
size_t strlen(char const *);
