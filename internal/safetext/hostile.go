package safetext

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
