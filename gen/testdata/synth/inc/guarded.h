/* A classic include guard, defined to a value: not a schema constant. */
#ifndef SYNTH_GUARDED_H
#define SYNTH_GUARDED_H 1

#define SYNTH_GUARDED_VALUE 7

#endif
