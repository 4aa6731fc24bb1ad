package archive

import (
	"errors"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string // want "" means refused
	}{
		{"target/manifest.json", "target/manifest.json"},
		{"./target//run_results.json", "target/run_results.json"},
		{`target\manifest.json`, "target/manifest.json"},
		{"target/./x/y.json", "target/x/y.json"},
		{"manifest.json", "manifest.json"},
		{"café/naïve.json", "café/naïve.json"},
		{"", ""},
		{".", ""},
		{"./", ""},
		{"../etc/passwd", ""},
		{"target/../../x", ""},
		{"target/../manifest.json", ""},
		{`..\..\windows\system32`, ""},
		{"/etc/passwd", ""},
		{`\\server\share\x`, ""},
		{"//server/share", ""},
		{"C:/Windows/x", ""},
		{`c:\x`, ""},
		{"C:x", ""},
		{"target/CON", ""},
		{"target/nul.json", ""},
		{"target/Com1.txt", ""},
		{"target/LPT¹", ""},
		{"target/CONOUT$", ""},
		{"target/console.json", "target/console.json"},
		{"target/com10", "target/com10"},
		{"target/a:b", ""},
		{"target/a*b", ""},
		{"target/a?b", ""},
		{`target/a"b`, ""},
		{"target/a<b>", ""},
		{"target/a|b", ""},
		{"target/trailing.", ""},
		{"target/trailing ", ""},
		{"target/\x00x", ""},
		{"target/\nx", ""},
		{"target/\x7fx", ""},
		{"bad\xffutf8", ""},
		{strings.Repeat("a", 256), ""},
		{strings.Repeat("a/", 33) + "x", ""},
	}
	for _, tt := range tests {
		got, err := CleanPath(tt.in)
		if tt.want == "" {
			var pe *PathError
			if !errors.As(err, &pe) {
				t.Errorf("CleanPath(%q) = %q, %v; want a *PathError", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestCheckKey(t *testing.T) {
	t.Parallel()
	if err := CheckKey("a/b/c.json"); err != nil {
		t.Errorf("CheckKey(clean) = %v", err)
	}
	for _, k := range []string{"a//b", "./a", "a/", `a\b`, "../a", "/a"} {
		if err := CheckKey(k); err == nil {
			t.Errorf("CheckKey(%q) = nil, want an error", k)
		}
	}
}

func TestSafeName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"demo-jaffle", "demo-jaffle"},
		{"daily run", "daily run"},
		{"", "_"},
		{".", "_"},
		{"..", "_"},
		{"../../etc", ".._.._etc"},
		{"a/b\\c", "a_b_c"},
		{"x:y*z?", "x_y_z_"},
		{"nul", "_nul"},
		{"CON.txt", "_CON.txt"},
		{"trail. . ", "trail"},
		{"tab\there", "tab_here"},
		{"bad\xffutf8", "bad_utf8"},
		{strings.Repeat("é", 80), strings.Repeat("é", 50)},
	}
	for _, tt := range tests {
		if got := SafeName(tt.in); got != tt.want {
			t.Errorf("SafeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if got := SafeName(tt.in); CheckKey(got) != nil {
			t.Errorf("SafeName(%q) = %q is not a valid key: %v", tt.in, got, CheckKey(got))
		}
	}
}

// FuzzCleanPath checks that whatever a payload holds, an accepted path is a
// valid key that stays inside its folder, and SafeName always gives one name.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"target/manifest.json", "../x", `C:\x`, "a/./b", "CON", "x:y", "a//b/", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got, err := CleanPath(p)
		if err == nil {
			if kerr := CheckKey(got); kerr != nil {
				t.Fatalf("CleanPath(%q) = %q, not a valid key: %v", p, got, kerr)
			}
			for _, c := range strings.Split(got, "/") {
				if c == ".." || c == "." || c == "" {
					t.Fatalf("CleanPath(%q) = %q has component %q", p, got, c)
				}
			}
		}
		n := SafeName(p)
		if strings.Contains(n, "/") || CheckKey(n) != nil {
			t.Fatalf("SafeName(%q) = %q is not one safe name", p, n)
		}
	})
}
