// Package timefmt formats times with strftime-like fields (%Y-%m-%d
// %H:%M:%S), for text drawn on pictures. A layout is checked once by
// Parse; formatting appends to a caller's buffer and allocates nothing.
package timefmt

import (
	"fmt"
	"time"
)

// Fields lists the supported fields and what each prints.
const Fields = "%Y year, %y 2-digit year, %m month, %d day, %e space-padded day, %j day of year, " +
	"%H hour, %I 12-hour hour, %p AM/PM, %M minute, %S second, %b %B month name, %a %A weekday name, " +
	"%F %Y-%m-%d, %T %H:%M:%S, %z zone offset, %Z zone name, %% a percent sign"

// Layout is a parsed layout: literal text and fields.
type Layout struct {
	parts []part
}

// part is literal text (verb 0) or one field.
type part struct {
	verb byte
	lit  string
}

// Parse parses a layout. An unknown field, or a % at the end, is an error.
func Parse(s string) (Layout, error) {
	var l Layout
	lit := 0
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			continue
		}
		if i+1 == len(s) {
			return Layout{}, fmt.Errorf("%q ends with a lone %%: write %%%% for a percent sign", s)
		}
		verb := s[i+1]
		if !known(verb) {
			return Layout{}, fmt.Errorf("unknown time field %%%c in %q (known: %s)", verb, s, Fields)
		}
		if lit < i {
			l.parts = append(l.parts, part{lit: s[lit:i]})
		}
		l.parts = append(l.parts, part{verb: verb})
		i++
		lit = i + 1
	}
	if lit < len(s) {
		l.parts = append(l.parts, part{lit: s[lit:]})
	}
	return l, nil
}

// HasFields reports whether the layout prints anything that depends on
// the time.
func (l Layout) HasFields() bool {
	for _, p := range l.parts {
		if p.verb != 0 && p.verb != '%' {
			return true
		}
	}
	return false
}

// Format returns t formatted by l.
func (l Layout) Format(t time.Time) string { return string(l.Append(nil, t)) }

// Append appends t formatted by l to b.
func (l Layout) Append(b []byte, t time.Time) []byte {
	for _, p := range l.parts {
		if p.verb == 0 {
			b = append(b, p.lit...)
			continue
		}
		b = appendField(b, p.verb, t)
	}
	return b
}

func known(verb byte) bool {
	switch verb {
	case 'Y', 'y', 'm', 'd', 'e', 'j', 'H', 'I', 'p', 'M', 'S', 'b', 'B', 'a', 'A', 'F', 'T', 'z', 'Z', '%':
		return true
	}
	return false
}

func appendField(b []byte, verb byte, t time.Time) []byte {
	switch verb {
	case 'Y':
		return appendInt(b, t.Year(), 4, '0')
	case 'y':
		return appendInt(b, t.Year()%100, 2, '0')
	case 'm':
		return appendInt(b, int(t.Month()), 2, '0')
	case 'd':
		return appendInt(b, t.Day(), 2, '0')
	case 'e':
		return appendInt(b, t.Day(), 2, ' ')
	case 'j':
		return appendInt(b, t.YearDay(), 3, '0')
	case 'H':
		return appendInt(b, t.Hour(), 2, '0')
	case 'I':
		return appendInt(b, (t.Hour()+11)%12+1, 2, '0')
	case 'M':
		return appendInt(b, t.Minute(), 2, '0')
	case 'S':
		return appendInt(b, t.Second(), 2, '0')
	case 'F':
		return appendField(appendField(appendField(appendField(appendField(b, 'Y', t), '-', t), 'm', t), '-', t), 'd', t)
	case 'T':
		return appendField(appendField(appendField(appendField(appendField(b, 'H', t), ':', t), 'M', t), ':', t), 'S', t)
	}
	return appendText(b, verb, t)
}

// appendText appends the fields printed as words, and any other byte as
// itself (used by %F and %T for their separators, and by %%).
func appendText(b []byte, verb byte, t time.Time) []byte {
	switch verb {
	case 'p':
		if t.Hour() < 12 {
			return append(b, "AM"...)
		}
		return append(b, "PM"...)
	case 'b':
		return append(b, t.Month().String()[:3]...)
	case 'B':
		return append(b, t.Month().String()...)
	case 'a':
		return append(b, t.Weekday().String()[:3]...)
	case 'A':
		return append(b, t.Weekday().String()...)
	case 'z':
		return t.AppendFormat(b, "-0700")
	case 'Z':
		return t.AppendFormat(b, "MST")
	}
	return append(b, verb)
}

// appendInt appends v, padded with pad to at least width digits.
func appendInt(b []byte, v, width int, pad byte) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	var d [20]byte
	i := len(d)
	for {
		i--
		d[i] = byte('0' + v%10)
		v /= 10
		if v == 0 {
			break
		}
	}
	for n := len(d) - i; n < width; n++ {
		b = append(b, pad)
	}
	return append(b, d[i:]...)
}
