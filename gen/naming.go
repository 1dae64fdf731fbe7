package gen

import (
	"strings"
	"unicode"

	"github.com/dave/jennifer/jen"
)

// typePrefixes are stripped from C type names, first match only.
var typePrefixes = []string{"monad_exec_", "monad_c_", "monad_event_"}

// initialisms are words spelled in capitals in Go names; eip<N> is
// handled separately.
var initialisms = map[string]string{
	"id":   "ID",
	"qc":   "QC",
	"evm":  "EVM",
	"evmc": "EVMC",
	"4gb":  "4GB",
}

// camelWord capitalises one lower-case word of a C name.
func camelWord(w string) string {
	if w == "" {
		return ""
	}
	if s, ok := initialisms[w]; ok {
		return s
	}
	if rest, ok := strings.CutPrefix(w, "eip"); ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
		return "EIP" + rest
	}
	return strings.ToUpper(w[:1]) + w[1:]
}

// camel joins the _-separated words of a C name in CamelCase.
func camel(s string) string {
	var b strings.Builder
	for _, w := range strings.Split(s, "_") {
		b.WriteString(camelWord(w))
	}
	return b.String()
}

// goTypeName is the Go name of a C struct, enum or typedef name.
func goTypeName(c string) string {
	for _, p := range typePrefixes {
		if rest, ok := strings.CutPrefix(c, p); ok {
			c = rest
			break
		}
	}
	return camel(c)
}

// goFieldName is the Go name of a C struct member.
func goFieldName(c string) string { return camel(c) }

// jsonName is the JSON member name of a Go field name: lower camel case
// with initialisms treated as words (ChainID → chainId, EVMOutput →
// evmOutput, YParity → yParity), as `monad-events watch --json` has
// always named payload fields.
func jsonName(name string) string {
	rs := []rune(name)
	var words [][]rune
	start := 0
	for i := 1; i < len(rs); i++ {
		prev, cur := rs[i-1], rs[i]
		nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
		if unicode.IsUpper(cur) && (unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower)) {
			words = append(words, rs[start:i])
			start = i
		}
	}
	words = append(words, rs[start:])
	out := make([]rune, 0, len(rs))
	for i, w := range words {
		for j, r := range w {
			if i > 0 && j == 0 {
				out = append(out, unicode.ToUpper(r))
			} else {
				out = append(out, unicode.ToLower(r))
			}
		}
	}
	return string(out)
}

// enumPrefix is the common prefix of the enumerators, ending in '_' and
// leaving at least one word of every enumerator.
func enumPrefix(values []enumerator) string {
	if len(values) == 0 {
		return ""
	}
	p := values[0].Name
	for _, v := range values[1:] {
		for !strings.HasPrefix(v.Name, p) {
			p = p[:len(p)-1]
		}
	}
	if i := strings.LastIndexByte(p, '_'); i >= 0 {
		p = p[:i+1]
	} else {
		p = ""
	}
	for _, v := range values {
		if v.Name == p || len(v.Name) <= len(p) {
			return ""
		}
	}
	return p
}

// goEnumConst is the Go constant name of an enumerator.
func goEnumConst(goType, prefix, name string) string {
	return goType + camel(strings.ToLower(strings.TrimPrefix(name, prefix)))
}

// wrap breaks text into comment lines of at most 76 columns.
func wrap(text string) string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > 76 {
			lines = append(lines, line)
			line = w
			continue
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// doc adds text to f as // comment lines wrapped at 76 columns.
func doc(f *jen.File, text string) {
	for _, l := range strings.Split(wrap(text), "\n") {
		f.Comment(l)
	}
}
