package safetext

import "reflect"

// Hostile is a table of strings that attack a terminal or a Markdown
// renderer. It is for tests: the writers' tests push every one of them
// through every string field they print.
var Hostile = []string{
	"\x1b[2J\x1b[H",    // clear the screen
	"\x1b]0;pwned\x07", // set the terminal title (OSC, BEL)
	"\x1b]8;;http://evil\x1b\\click\x1b]8;;\x1b\\", // OSC 8 hyperlink
	"ok\rFAKE",                        // overwrite the line
	"a\bb\x00c\x7fd",                  // backspace, NUL, DEL
	"\u009b31m",                       // C1 CSI
	"\u202egnp.exe",                   // right-to-left override
	"\u2066x\u2069\u200e\u200f\u061c", // isolates and marks
	"line\u2028sep\u2029",             // line and paragraph separators
	"bad \xff\xfe utf8 \xc3",          // invalid UTF-8
	"a | b | c",                       // table pipes
	"two\nlines\r\n",                  // newlines
	"*bold* _it_ `code` [x](javascript:alert(1)) <script>&amp;", // markup
	"```\nfence\n```",      // fences
	"~~strike~~ \\ \t tab", // the rest
}

// FillStrings sets every string reachable from v (exported struct fields,
// slice items, string map keys, through pointers, structs and slices) to s,
// allocating nil pointers and giving empty slices two items. It is for the
// class tests of the writers: filling a value with each of [Hostile]
// covers a field added to it later. Interfaces and map values are left to
// the caller; v must be settable (reflect.ValueOf of a pointer).
func FillStrings(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		FillStrings(v.Elem(), s)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				FillStrings(v.Field(i), s)
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		}
		for i := range v.Len() {
			FillStrings(v.Index(i), s)
		}
	case reflect.Map:
		if v.Type().Key().Kind() == reflect.String {
			m := reflect.MakeMap(v.Type())
			m.SetMapIndex(reflect.ValueOf(s).Convert(v.Type().Key()), reflect.Zero(v.Type().Elem()))
			v.Set(m)
		}
	}
}
