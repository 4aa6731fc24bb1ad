package archive

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Limits on keys, so that a hostile payload cannot ask for absurd paths.
const (
	maxNameBytes = 255
	maxKeyBytes  = 1024
	maxKeyDepth  = 32
)

// PathError reports a path refused because it would leave its folder or is
// not a portable name.
type PathError struct {
	Path   string // the path as given (outside input: quoted when printed)
	Reason string
}

func (e *PathError) Error() string {
	return fmt.Sprintf("unsafe path %q: %s", e.Path, e.Reason)
}

// CleanPath turns a resource path taken from outside input (such as
// "target/manifest.json", or "target\manifest.json" from Windows) into a clean
// slash-separated relative path that stays inside its folder. It refuses,
// with a *PathError, anything that is absolute, has a drive letter or a UNC
// prefix, climbs with "..", or holds a name that is not safe on Linux, macOS
// and Windows. Empty and "." components are dropped.
func CleanPath(p string) (string, error) {
	refuse := func(reason string) (string, error) { return "", &PathError{Path: p, Reason: reason} }
	switch {
	case p == "":
		return refuse("empty")
	case !utf8.ValidString(p):
		return refuse("not valid UTF-8")
	case len(p) > maxKeyBytes:
		return refuse(fmt.Sprintf("longer than %d bytes", maxKeyBytes))
	}
	s := strings.ReplaceAll(p, `\`, "/")
	if strings.HasPrefix(s, "/") {
		return refuse("absolute path")
	}
	if len(s) >= 2 && s[1] == ':' && isASCIILetter(s[0]) {
		return refuse("drive letter")
	}
	var parts []string
	for _, c := range strings.Split(s, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return refuse(`climbs out with ".."`)
		}
		if reason := nameProblem(c); reason != "" {
			return refuse(reason)
		}
		parts = append(parts, c)
	}
	if len(parts) == 0 {
		return refuse("no file name")
	}
	if len(parts) > maxKeyDepth {
		return refuse(fmt.Sprintf("deeper than %d folders", maxKeyDepth))
	}
	return strings.Join(parts, "/"), nil
}

// CheckKey reports whether key is already a clean, confined, portable key, as
// CleanPath would return it unchanged. Stores call it on every key.
func CheckKey(key string) error {
	clean, err := CleanPath(key)
	if err != nil {
		return err
	}
	if clean != key {
		return &PathError{Path: key, Reason: "not in clean form (want " + clean + ")"}
	}
	return nil
}

// SafeName turns outside text (a workspace or schedule name, a run id) into
// one path component that is safe on Linux, macOS and Windows. Unsafe
// characters become '_', trailing dots and spaces are dropped, reserved device
// names get a '_' prefix and long names are cut. It never returns "", "." or
// "..".
func SafeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "_") {
		if r < 0x20 || r == 0x7f || strings.ContainsRune(`/\:*?"<>|`, r) {
			r = '_'
		}
		if b.Len()+utf8.RuneLen(r) > 100 {
			break
		}
		b.WriteRune(r)
	}
	out := strings.TrimRight(b.String(), ". ")
	if out == "" {
		return "_"
	}
	if isReserved(out) {
		out = "_" + out
	}
	return out
}

// nameProblem says why c is not a portable file name, or "" when it is.
func nameProblem(c string) string {
	if len(c) > maxNameBytes {
		return fmt.Sprintf("name longer than %d bytes", maxNameBytes)
	}
	for _, r := range c {
		if r < 0x20 || r == 0x7f {
			return "control character in name"
		}
		if strings.ContainsRune(`:*?"<>|`, r) {
			return fmt.Sprintf("character %q is not allowed on Windows", r)
		}
	}
	if strings.HasSuffix(c, ".") || strings.HasSuffix(c, " ") {
		return "name ends with a dot or a space (not allowed on Windows)"
	}
	if isReserved(c) {
		return "reserved device name on Windows"
	}
	return ""
}

// isReserved reports whether name is a Windows device name (CON, NUL, COM1,
// LPT¹, ...), alone or before an extension, in any case.
func isReserved(name string) bool {
	base := name
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	base = strings.TrimRight(base, " ")
	switch strings.ToUpper(base) {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(base) < 4 {
		return false
	}
	head := strings.ToUpper(base[:3])
	if head != "COM" && head != "LPT" {
		return false
	}
	switch base[3:] {
	case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "¹", "²", "³":
		return true
	}
	return false
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
