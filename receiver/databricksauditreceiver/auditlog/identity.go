package auditlog

import "strings"

// systemUser is the identity Databricks records for automated actions (autoscaling, scheduled
// job launches).
const systemUser = "System-User"

// IdentityType classifies the user_identity.email value of an audit event: Databricks puts a
// user's e-mail, a service principal's application id (a UUID) or System-User there.
func IdentityType(email string) string {
	switch {
	case email == systemUser:
		return IdentitySystem
	case isUUID(email):
		return IdentityServicePrincipal
	case strings.Contains(email, "@"):
		return IdentityUser
	default:
		return IdentityUnknown
	}
}

// isUUID reports whether s has the 8-4-4-4-12 hex form of an application id.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !isHex(c) {
				return false
			}
		}
	}
	return true
}

func isHex(c byte) bool {
	return ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// StripPort removes the port Databricks appends to source addresses ("1.2.3.4:0",
// "[2001:db8::1]:443"). A bare IPv6 address (several colons, no brackets) is returned as is.
func StripPort(addr string) string {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return ""
	}
	if addr[0] == '[' {
		if end := strings.IndexByte(addr, ']'); end > 0 {
			return addr[1:end]
		}
		return addr
	}
	if i := strings.IndexByte(addr, ':'); i >= 0 && strings.IndexByte(addr[i+1:], ':') < 0 {
		return addr[:i]
	}
	return addr
}
