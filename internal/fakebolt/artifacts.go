package fakebolt

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"time"
)

const amzDateLayout = "20060102T150405Z"

// maxIssuedURLs bounds the table of issued URLs; expired entries are pruned
// when it is reached.
const maxIssuedURLs = 1 << 16

// issuedURL remembers one presigned URL, so expiry can be exact to the
// nanosecond (X-Amz-Expires only has seconds) and ExpireOnFirstUse can be
// applied once.
type issuedURL struct {
	expires      time.Time
	expireOnce   bool // answer expired on the first fetch
	firstFetched bool
}

// presign returns an S3-style presigned URL for res on base.
func (s *Server) presign(base string, res *Resource) string {
	now := s.opts.Now().UTC()
	date := now.Format(amzDateLayout)
	expires := int64(math.Ceil(s.opts.URLTTL.Seconds()))
	token := randomHex(16)
	p := artifactPath(res)
	sig := s.sign(res.ID, p, date, expires, token)

	s.urlMu.Lock()
	if len(s.issued) >= maxIssuedURLs {
		s.pruneIssuedLocked(now)
	}
	once := s.opts.ExpireOnFirstUse && !s.urlIssuedTo[res.ID]
	s.urlIssuedTo[res.ID] = true
	s.issued[sig] = &issuedURL{expires: now.Add(s.opts.URLTTL), expireOnce: once}
	s.urlMu.Unlock()

	q := url.Values{}
	q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	q.Set("X-Amz-Credential", "FAKEBOLTACCESSKEY/"+now.Format("20060102")+"/us-east-1/s3/aws4_request")
	q.Set("X-Amz-Date", date)
	q.Set("X-Amz-Expires", strconv.FormatInt(expires, 10))
	q.Set("X-Amz-SignedHeaders", "host")
	q.Set("X-Amz-Security-Token", token)
	q.Set("X-Amz-Signature", sig)
	return base + p + "?" + q.Encode()
}

// pruneIssuedLocked forgets expired URLs and, if that is not enough, half of
// the rest: a forgotten URL is still verified, from its X-Amz-Date and
// X-Amz-Expires (to the second), only ExpireOnFirstUse no longer applies.
func (s *Server) pruneIssuedLocked(now time.Time) {
	for k, v := range s.issued {
		if now.After(v.expires) {
			delete(s.issued, k)
		}
	}
	for k := range s.issued {
		if len(s.issued) < maxIssuedURLs/2 {
			break
		}
		delete(s.issued, k)
	}
}

// artifactPath is /artifacts/<id>/<path>, each path segment escaped.
func artifactPath(res *Resource) string {
	segs := strings.Split(strings.TrimPrefix(res.Path, "/"), "/")
	for i, seg := range segs {
		segs[i] = url.PathEscape(seg)
	}
	return "/artifacts/" + strconv.FormatInt(res.ID, 10) + "/" + strings.Join(segs, "/")
}

func (s *Server) sign(id int64, p, date string, expires int64, token string) string {
	m := hmac.New(sha256.New, s.signKey)
	fmt.Fprintf(m, "%d\n%s\n%s\n%d\n%s", id, p, date, expires, token)
	return hex.EncodeToString(m.Sum(nil))
}

func (s *Server) serveArtifact(w http.ResponseWriter, r *http.Request) {
	end := s.rec.begin(RouteDownload, r.Header, true)
	defer end()
	if hook := s.testHook.Load(); hook != nil {
		(*hook)()
	}
	s.log.Debug("fakebolt: download", "method", r.Method, "path", r.URL.Path) // never the query: it is the credential

	a := s.pickFaults(RouteDownload)
	if s.preBody(w, r, a, func(w http.ResponseWriter, status int) { writeS3Error(w, status, "", "") }) {
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var ref resourceRef
	var ok bool
	if err == nil {
		ref, ok = s.lookupResource(id)
	}
	if !ok {
		writeS3Error(w, http.StatusNotFound, "NoSuchKey", "The specified key does not exist.")
		return
	}
	if code, msg := s.verify(r, ref.res); code != "" {
		writeS3Error(w, http.StatusForbidden, code, msg)
		return
	}

	var src io.Reader
	var size int64
	if ref.res.File != "" {
		f, err := os.Open(ref.res.File)
		if err != nil {
			s.log.Error("fakebolt: open artifact file", "resource", ref.res.ID, "err", err)
			writeS3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil {
			writeS3Error(w, http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again.")
			return
		}
		src, size = f, fi.Size()
	} else {
		src, size = bytes.NewReader(ref.res.Data), int64(len(ref.res.Data))
	}
	if !s.wait(w, r, s.opts.Latency) {
		return
	}
	ct := "application/octet-stream"
	if path.Ext(ref.res.Path) == ".json" {
		ct = "application/json"
	}
	w.Header().Set("Content-Type", ct)
	s.writeBody(w, r, src, size, a)
}

// verify checks the presigned query string like S3: the signature first,
// then the expiry. It returns an S3 error code and message, or "" when valid.
func (s *Server) verify(r *http.Request, res *Resource) (code, msg string) {
	q := r.URL.Query()
	date, expStr, token, sig := q.Get("X-Amz-Date"), q.Get("X-Amz-Expires"), q.Get("X-Amz-Security-Token"), q.Get("X-Amz-Signature")
	if q.Get("X-Amz-Algorithm") == "" || date == "" || expStr == "" || sig == "" {
		return "AccessDenied", "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
	}
	expires, err := strconv.ParseInt(expStr, 10, 64)
	if err != nil || expires < 0 {
		return "AuthorizationQueryParametersError", "X-Amz-Expires should be a number"
	}
	want := s.sign(res.ID, artifactPath(res), date, expires, token)
	if r.URL.EscapedPath() != artifactPath(res) || !hmac.Equal([]byte(sig), []byte(want)) {
		return "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	}
	now := s.opts.Now()
	s.urlMu.Lock()
	iu := s.issued[sig]
	var deadline time.Time
	expireNow := false
	if iu != nil {
		deadline = iu.expires
		if iu.expireOnce && !iu.firstFetched {
			iu.firstFetched = true
			expireNow = true
		}
	} else if t, err := time.Parse(amzDateLayout, date); err == nil {
		deadline = t.Add(time.Duration(expires) * time.Second)
	}
	s.urlMu.Unlock()
	if expireNow || now.After(deadline) {
		return "AccessDenied", "Request has expired"
	}
	return "", ""
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	RequestID string   `xml:"RequestId"`
	HostID    string   `xml:"HostId"`
}

// writeS3Error answers like S3: an XML <Error> document.
func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	if code == "" {
		code, msg = s3Code(status)
	}
	body, _ := xml.Marshal(s3Error{Code: code, Message: msg, RequestID: strings.ToUpper(randomHex(8)), HostID: randomHex(24)})
	body = append([]byte(xml.Header), body...)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func s3Code(status int) (code, msg string) {
	switch status {
	case http.StatusServiceUnavailable:
		return "SlowDown", "Please reduce your request rate."
	case http.StatusInternalServerError:
		return "InternalError", "We encountered an internal error. Please try again."
	case http.StatusForbidden:
		return "AccessDenied", "Access Denied"
	case http.StatusNotFound:
		return "NoSuchKey", "The specified key does not exist."
	case http.StatusTooManyRequests:
		return "TooManyRequests", "Please reduce your request rate."
	}
	return strings.ReplaceAll(http.StatusText(status), " ", ""), http.StatusText(status)
}
