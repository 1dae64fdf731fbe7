package gen

import (
	"fmt"
	"io/fs"
	"path"
	"strings"

	"modernc.org/cc/v4"
)

// predefined are the macros of a C23 compiler for linux/amd64 (LP64) that
// schema headers may test. __STDC_VERSION__ >= 202000 also turns on the C23
// keywords in cc/v4 (bool, alignas, static_assert, ...). The feature tests
// (__has_attribute, ...) are added by featureMacros (features.go).
var predefined = predefinedBase + featureMacros()

const predefinedBase = `#define __STDC__ 1
#define __STDC_VERSION__ 202311L
#define __STDC_HOSTED__ 1
#define __x86_64__ 1
#define __x86_64 1
#define __amd64__ 1
#define __linux__ 1
#define __linux 1
#define __unix__ 1
#define __LP64__ 1
#define _LP64 1
#define __CHAR_BIT__ 8
#define __SIZEOF_POINTER__ 8
#define __SIZEOF_LONG__ 8
#define __SIZEOF_INT__ 4
#define __SIZEOF_SHORT__ 2
#define __SIZEOF_LONG_LONG__ 8
#define __SIZEOF_INT128__ 16
#define __SIZEOF_SIZE_T__ 8
#define __ORDER_LITTLE_ENDIAN__ 1234
#define __ORDER_BIG_ENDIAN__ 4321
#define __BYTE_ORDER__ __ORDER_LITTLE_ENDIAN__
#define __SIZE_TYPE__ unsigned long
#define __PTRDIFF_TYPE__ long
#define __WCHAR_TYPE__ int
#define __INTMAX_TYPE__ long
#define __INT8_TYPE__ signed char
#define __INT16_TYPE__ short
#define __INT32_TYPE__ int
#define __INT64_TYPE__ long
#define __UINT8_TYPE__ unsigned char
#define __UINT16_TYPE__ unsigned short
#define __UINT32_TYPE__ unsigned int
#define __UINT64_TYPE__ unsigned long
#define __INTPTR_TYPE__ long
#define __UINTPTR_TYPE__ unsigned long
#define __SIZEOF_LONG_DOUBLE__ 16
#define __SIZEOF_FLOAT__ 4
#define __SIZEOF_DOUBLE__ 8
#define __UINTMAX_TYPE__ unsigned long
#define __ATOMIC_RELAXED 0
#define __ATOMIC_CONSUME 1
#define __ATOMIC_ACQUIRE 2
#define __ATOMIC_RELEASE 3
#define __ATOMIC_ACQ_REL 4
#define __ATOMIC_SEQ_CST 5
#define __GNUC__ 12
#define __GNUC_MINOR__ 0
#define __clang__ 1
#define __clang_major__ 19
`

// translate parses and type-checks the given entry files of root (paths
// relative to it) as one translation unit.
func translate(root fs.FS, entries []string) (*cc.AST, *sourceFS, error) {
	abi, err := cc.NewABI("linux", "amd64")
	if err != nil {
		return nil, nil, err
	}
	sfs := newSourceFS(root)
	seen := map[string]bool{}
	cfg := &cc.Config{
		ABI:        abi,
		FS:         sfs,
		FSOnly:     true,
		ABILayout:  true,
		Header:     true,
		Predefined: predefined,
		HasBuiltin: hasBuiltin,
		// Values for the object-like macros, read as constants.
		EvalAllMacros:   true,
		IncludePaths:    []string{""},
		SysIncludePaths: []string{libcDir, srcDir},
		PragmaHandler: func(toks []cc.Token) error {
			if len(toks) == 1 && toks[0].SrcStr() == "once" {
				f := toks[0].Position().Filename
				if seen[f] {
					return cc.SkipSource
				}
				seen[f] = true
			}
			return nil
		},
	}
	if err := cfg.ApplyOptions("-std=c23"); err != nil {
		return nil, nil, err
	}
	// One synthetic source includes every entry so that each header is
	// read once; a .c entry is included like a header.
	var b strings.Builder
	for _, e := range entries {
		fmt.Fprintf(&b, "#include <%s>\n", path.Clean(e))
	}
	sources := []cc.Source{
		{Name: "<predefined>", Value: cfg.Predefined},
		{Name: "<builtin>", Value: cc.Builtin},
		{Name: "<entries>", Value: b.String()},
	}
	ast, err := safeTranslate(cfg, sources)
	if sfs.err != nil {
		return nil, nil, sfs.err
	}
	if err != nil {
		if strings.Contains(err.Error(), "include file not found: <") {
			// Say what the hermetic libc offers rather than let the user
			// look for the host's headers.
			err = fmt.Errorf("%w\n(<...> includes resolve to the header tree and the generator's embedded libc, which has %s; add a missing system header to gen/libc)", err, strings.Join(libcHeaders(), ", "))
		}
		return nil, nil, fmt.Errorf("parsing C headers: %w", err)
	}
	return ast, sfs, nil
}

// libcHeaders lists the embedded libc headers.
func libcHeaders() []string {
	var r []string
	fs.WalkDir(libc, libcDir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			r = append(r, "<"+strings.TrimPrefix(p, libcDir+"/")+">")
		}
		return nil
	})
	return r
}

// safeTranslate is cc.Translate turning a parser panic, which some
// malformed inputs cause, into an error.
func safeTranslate(cfg *cc.Config, sources []cc.Source) (ast *cc.AST, err error) {
	defer func() {
		if r := recover(); r != nil {
			ast, err = nil, fmt.Errorf("the C parser failed (%v); the headers are probably malformed", r)
		}
	}()
	return cc.Translate(cfg, sources)
}
