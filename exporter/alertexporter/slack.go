// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter // import "github.com/otelcol-databricks/otelcol-databricks/exporter/alertexporter"

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Slack's documented message limits.
const (
	slackMaxText        = 40000 // top-level text
	slackMaxHeaderText  = 150   // header block plain_text
	slackMaxSectionText = 3000  // section block text
	slackMaxFieldText   = 2000  // each section field
	slackMaxFields      = 10    // fields per section
	slackMaxContextText = 3000  // context element text
)

type slackText struct {
	Type  string `json:"type"`
	Text  string `json:"text"`
	Emoji bool   `json:"emoji,omitempty"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Fields   []slackText `json:"fields,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

// slackMessage is an incoming-webhook payload: text is the notification
// and fallback, blocks the rich layout (5 blocks, well below the 50 limit).
type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackTarget struct {
	httpClient
	webhookURL string
	now        func() time.Time
}

func newSlackTarget(cfg *SlackConfig, now func() time.Time) *slackTarget {
	clientCfg := cfg.ClientConfig
	clientCfg.Endpoint = string(cfg.WebhookURL)
	return &slackTarget{
		httpClient: httpClient{config: clientCfg},
		webhookURL: string(cfg.WebhookURL),
		now:        now,
	}
}

func (*slackTarget) name() string { return targetSlack }

// deliver posts one message per alert: a webhook message has one channel
// entry, and each alert should be readable and threadable on its own.
func (t *slackTarget) deliver(ctx context.Context, alerts []*alert) []error {
	return sendEach(ctx, alerts, func(ctx context.Context, a *alert) error {
		body, err := json.Marshal(renderSlack(a))
		if err != nil {
			return err
		}
		return postJSON(ctx, t.client, targetSlack, t.webhookURL, body, t.now)
	})
}

var slackSeverityEmoji = map[Severity]string{
	SeverityCritical: ":rotating_light:",
	SeverityHigh:     ":red_circle:",
	SeverityMedium:   ":large_orange_circle:",
	SeverityLow:      ":large_blue_circle:",
	SeverityInfo:     ":information_source:",
}

func renderSlack(a *alert) slackMessage {
	sev := strings.ToUpper(string(a.Severity))
	title := a.RuleID
	if a.RuleName != "" {
		title += " " + a.RuleName
	}
	header := truncateRunes(slackSeverityEmoji[a.Severity]+" "+sev+" · "+title, slackMaxHeaderText)

	fallback := "[" + sev + "] " + a.RuleID
	if a.Summary != "" {
		fallback += ": " + a.Summary
	}

	fields := make([]slackText, 0, slackMaxFields)
	addField := func(label, value string) {
		if value == "" || len(fields) == slackMaxFields {
			return
		}
		fields = append(fields, slackText{
			Type: "mrkdwn",
			Text: "*" + slackEscapedText(label, slackMaxHeaderText) + "*\n" + slackEscapedText(value, slackMaxFieldText-utf8.RuneCountInString(label)-8),
		})
	}
	addField("Severity", string(a.Severity))
	addField("Who", a.User)
	addField("From", a.SourceIP)
	addField("Workspace", firstNonEmpty(a.WorkspaceURL, a.Workspace))
	addField("Rule", a.RuleID)
	addField("ATT&CK", strings.Join(a.Techniques, ", "))
	addField("Client", a.UserAgent)

	summary := a.Summary
	if summary == "" {
		summary = a.RuleID
	}
	blocks := []slackBlock{
		{Type: "header", Text: &slackText{Type: "plain_text", Text: header, Emoji: true}},
		{Type: "section", Text: &slackText{Type: "mrkdwn", Text: slackEscapedText(summary, slackMaxSectionText)}},
		{Type: "section", Fields: fields},
	}
	if why := evidenceLines(a); len(why) > 0 {
		blocks = append(blocks, slackBlock{
			Type: "section",
			Text: &slackText{Type: "mrkdwn", Text: "*Why*\n" + slackEscapedText(strings.Join(why, "\n"), slackMaxSectionText-7)},
		})
	}
	var footer []string
	if !a.FirstEvent.IsZero() {
		footer = append(footer, "first event "+formatTime(a.FirstEvent))
	}
	if a.Count > 0 {
		footer = append(footer, strconv.FormatInt(a.Count, 10)+" events")
	}
	if a.DedupKey != "" {
		footer = append(footer, "dedup key "+a.DedupKey)
	}
	if len(footer) > 0 {
		blocks = append(blocks, slackBlock{
			Type:     "context",
			Elements: []slackText{{Type: "mrkdwn", Text: slackEscapedText(strings.Join(footer, " · "), slackMaxContextText)}},
		})
	}
	return slackMessage{Text: slackEscapedText(fallback, slackMaxText), Blocks: blocks}
}
