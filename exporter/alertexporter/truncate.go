// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"strings"
	"unicode/utf8"
)

const ellipsis = "…"

// truncateRunes shortens s to at most limit runes, marking the cut with an
// ellipsis. It never splits a UTF-8 sequence, and invalid bytes come out as
// U+FFFD so targets that reject malformed UTF-8 (Alertmanager, Slack) accept
// the result.
func truncateRunes(s string, limit int) string {
	if limit <= 0 {
		return ""
	}
	if utf8.ValidString(s) && utf8.RuneCountInString(s) <= limit {
		return s
	}
	var sb strings.Builder
	n := 0
	for _, r := range s { // ranging yields U+FFFD for invalid bytes
		if n == limit {
			return cutWithEllipsis(sb.String(), limit)
		}
		sb.WriteRune(r)
		n++
	}
	return sb.String()
}

// cutWithEllipsis replaces the last rune of a string of exactly limit runes
// with the ellipsis so the result stays within limit.
func cutWithEllipsis(s string, limit int) string {
	if limit == 1 {
		return ellipsis
	}
	_, size := utf8.DecodeLastRuneInString(s)
	return s[:len(s)-size] + ellipsis
}

// slackEscapedText escapes the three characters Slack's mrkdwn gives control
// meaning to (links, mentions) so finding text shows literally, and keeps
// the result within limit characters without cutting an escape sequence or
// a UTF-8 sequence in half.
func slackEscapedText(s string, limit int) string {
	if limit <= 0 {
		return ""
	}
	type cut struct{ bytes, runes int }
	var sb strings.Builder
	// cuts records where each piece ends, so an overflow can back off whole
	// pieces to make room for the ellipsis.
	cuts := make([]cut, 0, min(len(s), limit))
	runes := 0
	for _, r := range s { // ranging yields U+FFFD for invalid bytes
		piece := ""
		switch r {
		case '&':
			piece = "&amp;"
		case '<':
			piece = "&lt;"
		case '>':
			piece = "&gt;"
		}
		width := 1
		if piece != "" {
			width = len(piece)
		}
		if runes+width > limit {
			end := cut{}
			for i := len(cuts) - 1; i >= 0; i-- {
				if cuts[i].runes+1 <= limit {
					end = cuts[i]
					break
				}
			}
			return sb.String()[:end.bytes] + ellipsis
		}
		if piece != "" {
			sb.WriteString(piece)
		} else {
			sb.WriteRune(r)
		}
		runes += width
		cuts = append(cuts, cut{bytes: sb.Len(), runes: runes})
	}
	return sb.String()
}
