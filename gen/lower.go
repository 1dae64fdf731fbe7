package gen

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// constexprDecl records one C23 constexpr declaration found by [lower].
type constexprDecl struct {
	Name string // declared identifier
	Type string // C type spelling as written, e.g. "size_t" or "char[]"
	Int  bool   // lowered to an enumerator (an integer constant expression)
	File string // file it was declared in
	Line int
}

// lower rewrites the C23 constructs cc/v4 does not parse into equivalent C
// it does, keeping every line where it was so that positions reported by the
// parser still point into the original file:
//
//   - an integer constexpr object becomes an enumerator, so it stays an
//     integer constant expression usable as an array bound; any other
//     constexpr object becomes a static const object;
//   - one-argument static_assert gets an empty message;
//   - [[...]] attributes are blanked, except gnu::aligned, gnu::packed and
//     gnu::vector_size, which become __attribute__((...)) so that cc/v4
//     applies them (a layout attribute it cannot apply is an error);
//   - __has_c_attribute(name) and __has_c_attribute(ns::name) are replaced
//     by their value (features.go);
//   - digit separators in numbers are dropped.
//
// Comments, string and character literals are left alone.
func lower(file string, src []byte) ([]byte, []constexprDecl, error) {
	l := &lowerer{src: src, file: file}
	if err := l.run(); err != nil {
		return nil, nil, err
	}
	return l.out.Bytes(), l.consts, nil
}

type lowerer struct {
	src    []byte
	file   string
	out    bytes.Buffer
	consts []constexprDecl
	next   int // where run continues after hasCAttribute
}

var scopedAttr = regexp.MustCompile(`^\s*([A-Za-z_]\w*)\s*(?:::\s*([A-Za-z_]\w*)\s*)?$`)

// hasCAttribute replaces __has_c_attribute(name) or
// __has_c_attribute(ns::name), at s[start:afterKw], by its value (see
// features.go): the predefined macro cannot take a scoped name, which ##
// cannot paste. Anything else is left to the macro.
func (l *lowerer) hasCAttribute(start, afterKw int) {
	s := l.src
	l.next = afterKw
	i := afterKw
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	end := -1
	if i < len(s) && s[i] == '(' {
		end = l.scanTo(i+1, ')')
	}
	if end < 0 || !scopedAttr.Match(s[i+1:end]) || bytes.ContainsRune(s[i+1:end], '\n') {
		l.out.Write(s[start:afterKw])
		return
	}
	v := hasCAttribute(string(s[i+1 : end]))
	if v == 0 {
		l.out.WriteString("0")
	} else {
		fmt.Fprintf(&l.out, "%dL", v)
	}
	l.next = end + 1
}

// gnuAttrs returns the GNU attributes of the [[...]] list at s[i:end] that
// change a layout (gnu::aligned(N), gnu::packed, gnu::vector_size(N)),
// spelled for __attribute__((...)), so that they are applied rather than
// blanked; the others cannot change a layout and are dropped. A layout
// attribute cc/v4 does not implement is an error rather than a silently
// wrong layout.
func (l *lowerer) gnuAttrs(i, end int) (string, error) {
	var keep []string
	for i < end {
		c := l.scanTo(i, ',')
		if c < 0 || c > end {
			c = end
		}
		a := string(l.src[i:c])
		i = c + 1
		head, args, hasArgs := strings.Cut(a, "(")
		m := scopedAttr.FindStringSubmatch(head)
		if m == nil || m[2] == "" || attrName(m[1]) != "gnu" {
			continue // standard, unscoped or another vendor's
		}
		name := attrName(m[2])
		switch layout, ok := gnuAttributes[name]; {
		case ok && layout:
			if hasArgs {
				lowered, _, err := lower(l.file, []byte(args))
				if err != nil {
					return "", err
				}
				name += "(" + strings.Join(strings.Fields(string(lowered)), " ")
			}
			keep = append(keep, name)
		case layoutAttributes[name]:
			return "", fmt.Errorf("%s:%d: attribute gnu::%s changes the layout and the generator cannot apply it", l.file, l.line(i), name)
		}
	}
	return strings.Join(keep, ", "), nil
}

func isIdentStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// skipLiteral returns the index just past the comment, string or character
// literal starting at i, or i when there is none.
func skipLiteral(s []byte, i int) int {
	switch {
	case bytes.HasPrefix(s[i:], []byte("//")):
		for i < len(s) && s[i] != '\n' {
			i++
		}
		return i
	case bytes.HasPrefix(s[i:], []byte("/*")):
		if j := bytes.Index(s[i+2:], []byte("*/")); j >= 0 {
			return i + 2 + j + 2
		}
		return len(s)
	case s[i] == '\'' && inNumber(s, i):
		return i // a digit separator
	case s[i] == '"' || s[i] == '\'':
		q := s[i]
		i++
		for i < len(s) && s[i] != q && s[i] != '\n' {
			if s[i] == '\\' {
				i++
			}
			i++
		}
		return min(i+1, len(s))
	}
	return i
}

// inNumber reports whether the ' at s[i] follows the digits of a pp-number
// (a C23 digit separator) rather than opening a character constant.
func inNumber(s []byte, i int) bool {
	j := i
	for j > 0 && (isIdentChar(s[j-1]) || s[j-1] == '\'' || s[j-1] == '.') {
		j--
	}
	return j < i && (isDigit(s[j]) || s[j] == '.')
}

func (l *lowerer) line(i int) int { return 1 + bytes.Count(l.src[:i], []byte("\n")) }

func (l *lowerer) run() error {
	s := l.src
	for i := 0; i < len(s); {
		if j := skipLiteral(s, i); j != i {
			l.out.Write(s[i:j])
			i = j
			continue
		}
		c := s[i]
		switch {
		case isDigit(c) || c == '.' && i+1 < len(s) && isDigit(s[i+1]):
			// A pp-number; C23 allows ' between its digits.
			j := i
			for j < len(s) && (isIdentChar(s[j]) || s[j] == '.' ||
				s[j] == '\'' && j+1 < len(s) && isIdentChar(s[j+1])) {
				if s[j] != '\'' {
					l.out.WriteByte(s[j])
				}
				j++
			}
			i = j
		case isIdentStart(c):
			j := i
			for j < len(s) && isIdentChar(s[j]) {
				j++
			}
			word := string(s[i:j])
			if i > 0 && isIdentChar(s[i-1]) {
				l.out.WriteString(word)
				i = j
				continue
			}
			switch word {
			case "constexpr":
				n, err := l.constexpr(i)
				if err != nil {
					return err
				}
				i = n
			case "__has_c_attribute":
				l.hasCAttribute(i, j)
				i = l.next
				continue
			case "static_assert", "_Static_assert":
				n, err := l.staticAssert(i, j, word)
				if err != nil {
					return err
				}
				i = n
			default:
				l.out.WriteString(word)
				i = j
			}
		case c == '[' && i+1 < len(s) && s[i+1] == '[':
			end, err := l.matchAttr(i)
			if err != nil {
				return err
			}
			gnu, err := l.gnuAttrs(i+2, end-2)
			if err != nil {
				return err
			}
			if gnu == "" {
				l.blank(s[i:end])
			} else {
				fmt.Fprintf(&l.out, "__attribute__((%s))", gnu)
				l.newlines(s[i:end])
			}
			i = end
		default:
			l.out.WriteByte(c)
			i++
		}
	}
	return nil
}

// blank writes the newlines of b and spaces for everything else.
func (l *lowerer) blank(b []byte) {
	for _, c := range b {
		if c == '\n' {
			l.out.WriteByte('\n')
		} else {
			l.out.WriteByte(' ')
		}
	}
}

// newlines writes as many newlines as b contains.
func (l *lowerer) newlines(b []byte) {
	l.out.WriteString(strings.Repeat("\n", bytes.Count(b, []byte("\n"))))
}

// scanTo returns the index of the first byte c at bracket depth zero at or
// after i, skipping comments and literals.
func (l *lowerer) scanTo(i int, c byte) int {
	depth := 0
	s := l.src
	for i < len(s) {
		if j := skipLiteral(s, i); j != i {
			i = j
			continue
		}
		if depth == 0 && s[i] == c {
			return i
		}
		switch s[i] {
		case '(', '[', '{':
			depth++
		case ')', ']', '}':
			depth--
		}
		i++
	}
	return -1
}

func (l *lowerer) matchAttr(i int) (int, error) {
	// [[ ... ]]: find the ']]' that closes it, counting nested brackets.
	depth := 0
	s := l.src
	for j := i; j < len(s); {
		if k := skipLiteral(s, j); k != j {
			j = k
			continue
		}
		switch s[j] {
		case '[':
			depth++
		case ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
		j++
	}
	return 0, fmt.Errorf("%s:%d: unterminated [[ attribute", l.file, l.line(i))
}

func (l *lowerer) staticAssert(start, afterKw int, kw string) (int, error) {
	s := l.src
	i := afterKw
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n') {
		i++
	}
	if i >= len(s) || s[i] != '(' {
		l.out.WriteString(kw)
		return afterKw, nil
	}
	end := l.scanTo(i+1, ')')
	if end < 0 {
		return 0, fmt.Errorf("%s:%d: unterminated static_assert", l.file, l.line(start))
	}
	// Recurse so that digit separators inside the condition are lowered too.
	inner, _, err := lower(l.file, s[i+1:end])
	if err != nil {
		return 0, err
	}
	l.out.WriteString(kw)
	l.out.Write(s[afterKw : i+1])
	l.out.Write(inner)
	if comma := l.scanTo(i+1, ','); comma < 0 || comma > end {
		l.out.WriteString(`, ""`)
	}
	return end, nil
}

func (l *lowerer) constexpr(start int) (int, error) {
	s := l.src
	end := l.scanTo(start, ';')
	if end < 0 {
		return 0, fmt.Errorf("%s:%d: constexpr declaration without ';'", l.file, l.line(start))
	}
	// Drop a storage class written before constexpr: the lowered forms
	// supply their own.
	out := l.out.Bytes()
	k := len(out)
	for k > 0 && (out[k-1] == ' ' || out[k-1] == '\t') {
		k--
	}
	if bytes.HasSuffix(out[:k], []byte("static")) && (k == 6 || !isIdentChar(out[k-7])) {
		l.out.Truncate(k - 6)
	}
	// One declaration may have several init-declarators
	// (constexpr int A = 1, B = 2;): split at the commas outside brackets
	// and literals, and lower each as a declaration of its own.
	declStart := start + len("constexpr")
	var parts [][2]int
	for i := declStart; ; {
		c := l.scanTo(i, ',')
		if c < 0 || c > end {
			parts = append(parts, [2]int{i, end})
			break
		}
		parts = append(parts, [2]int{i, c})
		i = c + 1
	}
	var base string // the type specifiers of the first declarator
	var lowered []string
	for n, p := range parts {
		decl := string(s[p[0]:p[1]])
		lhs, init, hasInit := strings.Cut(decl, "=")
		if !hasInit {
			return 0, fmt.Errorf("%s:%d: constexpr declaration without initializer", l.file, l.line(p[0]))
		}
		fields := strings.Fields(strings.NewReplacer("[", " [ ", "]", " ] ", "*", " * ").Replace(lhs))
		if n == 0 && len(fields) < 2 || len(fields) < 1 {
			return 0, fmt.Errorf("%s:%d: cannot parse constexpr declaration %q", l.file, l.line(p[0]), strings.TrimSpace(decl))
		}
		// The declared name is the last identifier before any array suffix.
		nameIdx := -1
		for i, f := range fields {
			if f == "[" {
				break
			}
			if isIdentStart(f[0]) {
				nameIdx = i
			}
		}
		if nameIdx < 0 || n == 0 && nameIdx < 1 {
			return 0, fmt.Errorf("%s:%d: cannot find the name in constexpr declaration %q", l.file, l.line(p[0]), strings.TrimSpace(decl))
		}
		if n == 0 {
			// Pointer declarators bind to the name, not the base type.
			b := nameIdx
			for b > 0 && fields[b-1] == "*" {
				b--
			}
			base = strings.Join(fields[:b], " ")
		}
		name := fields[nameIdx]
		prefix := fields[:nameIdx]
		if n > 0 {
			prefix = append(strings.Fields(base), prefix...)
		}
		typ := strings.Join(prefix, " ") + strings.Join(fields[nameIdx+1:], "")
		isInt := !strings.ContainsAny(lhs, "[*") && !strings.Contains(init, "\"") &&
			!strings.Contains(init, "{") && !strings.Contains(base, "struct") &&
			!strings.Contains(base, "union") && !strings.Contains(base, "float") &&
			!strings.Contains(base, "double")
		nameAt := p[0] + strings.Index(lhs, name)
		l.consts = append(l.consts, constexprDecl{Name: name, Type: typ, Int: isInt, File: l.file, Line: l.line(nameAt)})
		initLowered, _, err := lower(l.file, []byte(init))
		if err != nil {
			return 0, err
		}
		if isInt {
			lowered = append(lowered, fmt.Sprintf("enum { %s = (%s) }", name, strings.Join(strings.Fields(string(initLowered)), " ")))
		} else {
			d := strings.TrimSpace(lhs)
			if n > 0 {
				d = base + " " + d
			}
			lowered = append(lowered, fmt.Sprintf("static const %s =%s", d, strings.ReplaceAll(string(initLowered), "\n", " ")))
		}
	}
	l.out.WriteString(strings.Join(lowered, "; "))
	l.newlines(s[start:end])
	return end, nil
}
