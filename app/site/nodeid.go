package site

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

var guidRE = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// checkNodeID checks the syntax of a NodeId in its text form and returns what is wrong, or
// "". Accepted: an optional namespace, ns=<index>; or nsu=<namespace URI>;, then one of
// i=<UInt32>, s=<string>, g=<GUID>, b=<base64 ByteString>. Without a namespace the node is
// in namespace 0 (the OPC UA standard nodes).
func checkNodeID(s string) string {
	const valid = "a NodeId is [ns=<index>; or nsu=<namespace URI>;] then i=<number>, s=<text>, g=<GUID> or b=<base64>, e.g. ns=2;s=Plant.Pump1.Flow, nsu=urn:plant;s=Pump1.Flow or i=2258"
	rest := s
	switch {
	case strings.HasPrefix(rest, "ns="):
		idx, r, ok := strings.Cut(rest[len("ns="):], ";")
		if !ok {
			return fmt.Sprintf("%q: ns=<index> must be followed by ; and the identifier; %s", s, valid)
		}
		if _, err := strconv.ParseUint(idx, 10, 16); err != nil {
			return fmt.Sprintf("%q: namespace index %q is not a number from 0 to 65535; %s", s, idx, valid)
		}
		rest = r
	case strings.HasPrefix(rest, "nsu="):
		uri, r, ok := strings.Cut(rest[len("nsu="):], ";")
		if !ok {
			return fmt.Sprintf("%q: nsu=<namespace URI> must be followed by ; and the identifier; %s", s, valid)
		}
		if uri == "" {
			return fmt.Sprintf("%q: the namespace URI is empty; %s", s, valid)
		}
		rest = r
	}
	kind, id, ok := strings.Cut(rest, "=")
	if !ok {
		return fmt.Sprintf("%q is not a NodeId; %s", s, valid)
	}
	if id == "" {
		return fmt.Sprintf("%q: the identifier after %s= is empty; %s", s, kind, valid)
	}
	switch kind {
	case "i":
		if _, err := strconv.ParseUint(id, 10, 32); err != nil {
			return fmt.Sprintf("%q: numeric identifier %q is not a number from 0 to 4294967295", s, id)
		}
	case "s":
	case "g":
		if !guidRE.MatchString(id) {
			return fmt.Sprintf("%q: %q is not a GUID; write it as 72962b91-fa75-4ae6-8d28-b404dc7daf63", s, id)
		}
	case "b":
		if _, err := base64.StdEncoding.DecodeString(id); err != nil {
			return fmt.Sprintf("%q: %q is not base64 (an opaque identifier is written in standard base64, e.g. b=M/RbKBsRVkePCePcx24oRA==)", s, id)
		}
	default:
		return fmt.Sprintf("%q: identifier type %q is not one of i (numeric), s (string), g (GUID), b (opaque); %s", s, kind, valid)
	}
	return ""
}
