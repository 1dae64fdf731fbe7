package gen

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"modernc.org/cc/v4"
)

// The feature tests of clang and GCC answer for what the generator
// actually handles, so that a header choosing between a construct and a
// fallback takes the branch the generator reads correctly:
//
//   - __has_include: cc/v4's own, true only for a file of the header tree
//     or the embedded libc (FSOnly: the host is never consulted).
//   - __has_builtin: true for the builtins cc/v4 declares or expands
//     ([hasBuiltin]); cc/v4's default says yes to any __builtin_ name.
//   - __has_attribute: true for GNU attributes that cc/v4 applies to the
//     layout (aligned, packed, vector_size) and for those that cannot change
//     a layout or a constant's value, which parsing and ignoring handles
//     correctly ([gnuAttributes]); false for the rest, notably mode,
//     scalar_storage_order and ms_struct, which change layouts the
//     generator would get wrong, and for unknown names (as clang).
//   - __has_c_attribute: the C23 value for the standard attributes, which
//     [lower] blanks and none of which affects a layout; 1 for a gnu::
//     attribute of [gnuAttributes] ([lower] rewrites gnu::aligned,
//     gnu::packed and gnu::vector_size as __attribute__ and blanks the
//     others) and for a clang:: one that cannot change a layout; 0 for
//     anything else. [lower] answers the direct uses (a scoped name cannot
//     go through ##); the macro answers an unscoped name reaching it
//     through another macro.
//   - __has_feature/__has_extension: cc/v4's own (c_alignas, c_atomic,
//     c_generic_selections, c_thread_local).
//
// The macros defined for them make defined(__has_...) true, as in clang.

// gnuAttributes are the GNU attribute names __has_attribute answers 1 for,
// true for those cc/v4 applies to layouts.
var gnuAttributes = map[string]bool{
	"aligned": true, "packed": true, "vector_size": true,
	// Parsed and ignored: no effect on a layout or a constant.
	"access": false, "alias": false, "alloc_size": false, "always_inline": false, "artificial": false,
	"cleanup": false, "cold": false, "const": false, "constructor": false, "counted_by": false,
	"deprecated": false, "designated_init": false, "destructor": false, "error": false,
	"fallthrough": false, "flatten": false, "format": false, "format_arg": false, "gnu_inline": false,
	"hot": false, "leaf": false, "malloc": false, "may_alias": false, "no_sanitize": false,
	"no_sanitize_address": false, "noinline": false, "noipa": false, "nonnull": false,
	"nonstring": false, "noreturn": false, "nothrow": false, "pure": false, "returns_nonnull": false,
	"section": false, "sentinel": false, "unavailable": false, "unused": false, "used": false,
	"visibility": false, "warn_unused_result": false, "warning": false, "weak": false,
}

// layoutAttributes are GNU attributes that change a layout or a value and
// that cc/v4 does not apply: refused in [[gnu::...]] form, 0 for the
// feature tests.
var layoutAttributes = map[string]bool{"mode": true, "scalar_storage_order": true, "ms_struct": true, "gcc_struct": true}

// cAttributes are the C23 standard attributes and their __has_c_attribute
// values (C23 6.7.13.2).
var cAttributes = map[string]int{
	"deprecated": 201904, "fallthrough": 201904, "maybe_unused": 201904, "nodiscard": 202003,
	"noreturn": 202202, "_Noreturn": 202202, "reproducible": 202207, "unsequenced": 202207,
}

// attrName strips the __name__ spelling every attribute also has.
func attrName(s string) string {
	if len(s) > 4 && strings.HasPrefix(s, "__") && strings.HasSuffix(s, "__") {
		return s[2 : len(s)-2]
	}
	return s
}

// hasCAttribute is the value of __has_c_attribute(arg), arg being an
// attribute name, optionally scoped (gnu::unused).
func hasCAttribute(arg string) int {
	ns, name, scoped := strings.Cut(arg, "::")
	if !scoped {
		return cAttributes[attrName(strings.TrimSpace(arg))]
	}
	layout, ok := gnuAttributes[attrName(strings.TrimSpace(name))]
	switch attrName(strings.TrimSpace(ns)) {
	case "gnu":
		if ok { // lower applies the layout ones as __attribute__
			return 1
		}
	case "clang":
		if ok && !layout {
			return 1
		}
	}
	return 0
}

// featureMacros defines __has_attribute and __has_c_attribute as table
// lookups: the pasted name is a macro defined to the answer, or an
// identifier, which #if reads as 0.
func featureMacros() string {
	var b strings.Builder
	b.WriteString("#define __has_attribute(x) __monadgo_has_attribute_##x\n")
	b.WriteString("#define __has_c_attribute(x) __monadgo_has_c_attribute_##x\n")
	// cc/v4 evaluates these itself; the macros only make defined() true.
	for _, m := range []string{"__has_builtin", "__has_feature", "__has_extension"} {
		fmt.Fprintf(&b, "#define %s(x) %s(x)\n", m, m)
	}
	b.WriteString("#define __has_cpp_attribute(x) 0\n")
	for _, n := range sortedKeys(gnuAttributes) {
		fmt.Fprintf(&b, "#define __monadgo_has_attribute_%s 1\n#define __monadgo_has_attribute___%s__ 1\n", n, n)
	}
	for _, n := range sortedKeys(cAttributes) {
		fmt.Fprintf(&b, "#define __monadgo_has_c_attribute_%s %dL\n", n, cAttributes[n])
		if !strings.HasPrefix(n, "_") {
			fmt.Fprintf(&b, "#define __monadgo_has_c_attribute___%s__ %dL\n", n, cAttributes[n])
		}
	}
	return b.String()
}

var builtins = sync.OnceValue(func() []string {
	names := regexp.MustCompile(`\b__builtin_[A-Za-z0-9_]+`).FindAllString(cc.Builtin, -1)
	// Evaluated by the type checker rather than declared.
	names = append(names, "__builtin_choose_expr", "__builtin_constant_p")
	slices.Sort(names)
	return slices.Compact(names)
})

// hasBuiltin answers __has_builtin: the builtins cc/v4 declares or
// defines (a call to one parses and type-checks), not any __builtin_ name.
func hasBuiltin(name string) bool {
	_, ok := slices.BinarySearch(builtins(), name)
	return ok
}
