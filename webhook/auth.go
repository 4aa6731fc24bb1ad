package webhook

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// authenticator checks presented secrets against the configured tokens in
// constant time. Tokens are kept only as SHA-256 digests: comparing digests
// of equal length hides the tokens' lengths, and every configured token is
// compared, with no early exit, so timing does not tell which one matched.
type authenticator struct {
	open    bool // no authentication (explicitly asked for)
	digests [][sha256.Size]byte
	uiUser  [sha256.Size]byte
}

func newAuthenticator(tokens []string, open bool, uiUser string) *authenticator {
	a := &authenticator{open: open, uiUser: sha256.Sum256([]byte(uiUser))}
	for _, t := range tokens {
		a.digests = append(a.digests, sha256.Sum256([]byte(t)))
	}
	return a
}

// match reports whether secret is one of the tokens.
func (a *authenticator) match(secret string) bool {
	d := sha256.Sum256([]byte(secret))
	ok := 0
	for i := range a.digests {
		ok |= subtle.ConstantTimeCompare(d[:], a.digests[i][:])
	}
	return ok == 1
}

// token checks a request's bearer token, or its token query parameter when
// it has no Authorization header.
func (a *authenticator) token(r *http.Request) bool {
	if a.open {
		return true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, found := strings.Cut(h, " ")
		if !found || !strings.EqualFold(scheme, "Bearer") {
			return false
		}
		return a.match(strings.TrimSpace(tok))
	}
	tok := r.URL.Query().Get("token")
	if tok == "" {
		return false
	}
	return a.match(tok)
}

// basic checks a request's HTTP Basic credentials: the UI user and a token
// as the password, both compared in constant time.
func (a *authenticator) basic(r *http.Request) bool {
	if a.open {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u := sha256.Sum256([]byte(user))
	userOK := subtle.ConstantTimeCompare(u[:], a.uiUser[:])
	passOK := a.match(pass)
	return userOK == 1 && passOK
}

// maxSecretFileSize bounds a secret file: a token is a line, not a document.
const maxSecretFileSize = 64 << 10

// ErrEmptySecret is returned by ReadSecretFile for a file that holds only
// white space.
var ErrEmptySecret = errors.New("the secret file is empty")

// ReadSecretFile reads one secret (a webhook token, an API secret) from a
// file, as containers and systemd credentials provide them: the content with
// surrounding white space (a trailing newline) trimmed. It refuses an empty
// file and a file over 64 KiB. Errors name the path, never the content.
func ReadSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read secret file: %w", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFileSize+1))
	if err != nil {
		return "", fmt.Errorf("read secret file %s: %w", path, err)
	}
	if len(b) > maxSecretFileSize {
		return "", fmt.Errorf("read secret file %s: larger than %d bytes, not a secret", path, maxSecretFileSize)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("read secret file %s: %w", path, ErrEmptySecret)
	}
	return s, nil
}
