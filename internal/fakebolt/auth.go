package fakebolt

import (
	"crypto/subtle"
	"net/http"
	"strings"
)

// authorize checks the Paradime auth headers: an X-API-KEY + X-API-SECRET
// pair, or Authorization: Bearer with a token (a prdm_cmp_ company token also
// needs X-Paradime-Workspace). It returns "" when authorized, else why not
// (never echoing a credential).
func (s *Server) authorize(h http.Header) string {
	if authz := h.Get("Authorization"); authz != "" {
		token, ok := strings.CutPrefix(authz, "Bearer ")
		if !ok || s.opts.Token == "" || !equal(token, s.opts.Token) {
			return "invalid bearer token"
		}
		if strings.HasPrefix(token, "prdm_cmp_") {
			ws := h.Get("X-Paradime-Workspace")
			if ws == "" {
				return "a company token needs the X-Paradime-Workspace header"
			}
			if !equal(ws, s.opts.WorkspaceUID) {
				return "unknown workspace"
			}
		}
		return ""
	}
	key, secret := h.Get("X-API-KEY"), h.Get("X-API-SECRET")
	if key == "" || secret == "" {
		return "missing X-API-KEY and X-API-SECRET headers"
	}
	if s.opts.APIKey == "" || !equal(key, s.opts.APIKey) || !equal(secret, s.opts.APISecret) {
		return "invalid API key or secret"
	}
	return ""
}

func equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
