// Copyright The otelcol-databricks Authors
// SPDX-License-Identifier: Apache-2.0

package alertexporter

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
)

func TestSecretsNeverLogged(t *testing.T) {
	slack, pd, wh := newFakeTarget(t), newFakeTarget(t), newFakeTarget(t)
	cfg := testConfig(targetsConfig{slack: slack, pagerduty: pd, webhook: wh})
	slack.Close() // network error: net/http quotes the URL, which holds the secret
	pd.answerAlways(http.StatusBadRequest, `{"status":"invalid event","message":"Event object is invalid"}`)
	wh.answerAlways(http.StatusForbidden, "forbidden")

	core, logs := observer.New(zap.DebugLevel)
	set := settingsForTest()
	set.Logger = zap.New(core)
	exp, err := NewFactory().CreateLogs(context.Background(), set, cfg)
	require.NoError(t, err)
	require.NoError(t, exp.Start(context.Background(), componenttest.NewNopHost()))
	consumeErr := exp.ConsumeLogs(context.Background(), findingsLogs(findingSpec{}))
	require.NoError(t, exp.Shutdown(context.Background()))
	require.Error(t, consumeErr)

	var all strings.Builder
	all.WriteString(consumeErr.Error())
	for _, entry := range logs.All() {
		all.WriteString(entry.Message)
		for k, v := range entry.ContextMap() {
			fmt.Fprintf(&all, " %s=%v", k, v)
		}
	}
	text := all.String()
	for _, secret := range []string{testSlackSecret, "slack-s3cr3t", testRoutingKey, testHeaderSecret} {
		assert.NotContains(t, text, secret)
	}
	// What is needed to act on the failure is there.
	assert.Contains(t, text, "Event object is invalid", "the target's answer is logged")
	assert.Contains(t, text, "/<redacted>")
	assert.NotEmpty(t, logs.FilterMessage("Alert target refused notifications permanently; dropping them").All())
}

func TestConfigStringsHideSecrets(t *testing.T) {
	cfg := testConfig(targetsConfig{slack: newFakeTarget(t), pagerduty: newFakeTarget(t), webhook: newFakeTarget(t)})
	printed := fmt.Sprintf("%+v %v", *cfg.Slack.Get(), *cfg.PagerDuty.Get())
	assert.NotContains(t, printed, testSlackSecret)
	assert.NotContains(t, printed, testRoutingKey)
	h, _ := cfg.Webhook.Get().ClientConfig.Headers.Get("Authorization")
	assert.NotContains(t, fmt.Sprint(h), testHeaderSecret)
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/<redacted>"},
		{"http://am:9093", "http://am:9093"},
		{"http://am:9093/", "http://am:9093"},
		{"https://user:pw@siem.example.com", "https://siem.example.com/<redacted>"},
		{"https://siem.example.com?token=abc", "https://siem.example.com/<redacted>"},
		{"::not a url", "<redacted>"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, redactURL(tt.in), tt.in)
	}
}
