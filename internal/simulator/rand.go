package simulator

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"strconv"
)

// stream returns a random source derived from the seed and a label. Deriving one stream per
// purpose (per user, per cluster, per attack) keeps every part of the output independent of the
// order in which the other parts are generated, so adding a user does not reshuffle the jobs.
func stream(seed int64, label string, parts ...any) *rand.Rand {
	sum := digest(append([]any{seed, label}, parts...))
	return rand.New(rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16])))
}

// stableHex is a deterministic hex id of n characters derived from its inputs.
func stableHex(n int, parts ...any) string {
	sum := digest(parts)
	s := hex.EncodeToString(sum[:])
	for len(s) < n {
		s += s
	}
	return s[:n]
}

// stableUUID formats a deterministic version-4-shaped UUID from its inputs.
func stableUUID(parts ...any) string {
	s := stableHex(32, parts...)
	return s[0:8] + "-" + s[8:12] + "-4" + s[13:16] + "-a" + s[17:20] + "-" + s[20:32]
}

// stableDigits is a deterministic decimal id of n digits (Databricks numeric ids).
func stableDigits(n int, parts ...any) string {
	sum := digest(parts)
	out := make([]byte, 0, n)
	for i := 0; len(out) < n; i++ {
		d := sum[i%len(sum)] ^ byte(i/len(sum))
		if len(out) == 0 && d%10 == 0 {
			d++
		}
		out = append(out, '0'+d%10)
	}
	return string(out)
}

// digest hashes its parts; the common kinds are appended without fmt, which dominates
// generation time otherwise.
func digest(parts []any) [32]byte {
	buf := make([]byte, 0, 128)
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			buf = append(buf, v...)
		case int:
			buf = strconv.AppendInt(buf, int64(v), 10)
		case int64:
			buf = strconv.AppendInt(buf, v, 10)
		case uint64:
			buf = strconv.AppendUint(buf, v, 10)
		default:
			buf = fmt.Append(buf, v)
		}
		buf = append(buf, '|')
	}
	return sha256.Sum256(buf)
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }
