package flexid

import "testing"

func TestInt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{`193439`, 193439, true},
		{`"193439"`, 193439, true},
		{` "42" `, 42, true},
		{`193439.0`, 193439, true},
		{`1.93439e5`, 193439, true},
		{`-1`, -1, true},
		{`"12.5"`, 0, false},
		{`12.5`, 0, false},
		{`1e300`, 0, false},
		{`1e400`, 0, false},
		{`"NaN"`, 0, false},
		{`"Inf"`, 0, false},
		{`"abc"`, 0, false},
		{`null`, 0, false},
		{`{}`, 0, false},
		{`[1]`, 0, false},
		{`true`, 0, false},
		{``, 0, false},
		{`"`, 0, false},
		{`9223372036854775807`, 9223372036854775807, true},
		{`99999999999999999999`, 0, false},
	}
	for _, tt := range tests {
		got, ok := Int([]byte(tt.in))
		if got != tt.want || ok != tt.ok {
			t.Errorf("Int(%s) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{`12`: "12", `"ab"`: "ab", `12.0`: "12.0", `1e400`: "1e400", `-3`: "-3"} {
		if got, ok := Text([]byte(in)); !ok || got != want {
			t.Errorf("Text(%s) = %q, %v; want %q", in, got, ok, want)
		}
	}
	for _, in := range []string{`null`, `{}`, `[]`, `false`, `-`, `1x`} {
		if got, ok := Text([]byte(in)); ok {
			t.Errorf("Text(%s) = %q, ok; want not ok", in, got)
		}
	}
}

func FuzzInt(f *testing.F) {
	for _, s := range []string{`1`, `"2"`, `3.0`, `1e3`, `"x"`, `null`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		n, ok := Int(raw)
		if !ok && n != 0 {
			t.Fatalf("Int(%q) = %d with ok false", raw, n)
		}
	})
}
