package auditlog

// maxCachedNames bounds the per-parser string caches: request parameter keys are chosen by
// Databricks services, so their number is small in practice but not bounded by any schema.
const maxCachedNames = 4096

// nameCache keeps the attribute names built from request parameter keys, which repeat on
// every record, so that a record does not allocate them again. A nil *nameCache allocates every time.
type nameCache struct {
	params map[string]string
}

func newNameCache() *nameCache {
	return &nameCache{params: make(map[string]string, 256)}
}

// paramAttr returns the attribute name of request parameter k.
func (c *nameCache) paramAttr(k string) string {
	if c == nil {
		return AttrRequestParamPrefix + k
	}
	if s, ok := c.params[k]; ok {
		return s
	}
	s := AttrRequestParamPrefix + k
	if len(c.params) < maxCachedNames {
		c.params[k] = s
	}
	return s
}
