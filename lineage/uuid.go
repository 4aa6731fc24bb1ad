package lineage

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
)

// uuidNamespace is the UUIDv5 namespace of boltfetch's run ids: the UUIDv5 of
// "https://github.com/boltfetch/boltfetch/lineage" in the URL namespace.
var uuidNamespace = uuidV5(urlNamespace, "https://github.com/boltfetch/boltfetch/lineage")

// urlNamespace is RFC 9562's namespace for URLs.
var urlNamespace = [16]byte{0x6b, 0xa7, 0xb8, 0x11, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}

// uuidV5 is RFC 9562's name-based UUID (SHA-1).
func uuidV5(ns [16]byte, name string) [16]byte {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return u
}

func formatUUID(u [16]byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// RunID is the OpenLineage run id of a Bolt run (commandID and uniqueID
// empty), of one of its commands (uniqueID empty) or of one dbt node of a
// command: a UUIDv5 of the four parts, so that the same run exported twice,
// from a payload or from the API, gets the same ids.
func RunID(namespace, boltRunID, commandID, uniqueID string) string {
	name := strings.Join([]string{namespace, boltRunID, commandID, uniqueID}, "\x00")
	return formatUUID(uuidV5(uuidNamespace, name))
}
