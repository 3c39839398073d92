package auditlog

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// parseDeliveryLineText is ParseDeliveryLine for StringBody: the Body is the line's text and
// the fields are read from it without building a map. The normalised attributes are the ones
// the map path writes (FuzzStringBodyMatchesMapBody); the attribute values are substrings of
// the Body, so a record costs one copy of its line plus its attributes.
func (p *Parser) parseDeliveryLineText(line []byte, workspaceID string, dst plog.LogRecord) (Resource, error) {
	text, data := bodyText(line), line
	if len(text) != len(line) { // invalid UTF-8 was replaced
		data = []byte(text)
	}
	p.ev.reset()
	ev := &p.ev
	ev.Source = SourceDelivery
	d := p.dec
	var orgID string
	// Sub-documents that the source JSON-encoded as strings are decoded after the line: decoding
	// them reuses the decoder.
	var identityDoc, paramsDoc string
	var response responseFields
	var metadata, metadataSnake metadataFields
	err := d.skimObject(data, text, func(key string) error {
		var err error
		if field := ev.deliveryScalar(key); field != nil {
			*field, err = d.scalar(1)
			return err
		}
		switch key {
		case "timestamp":
			var v pcommon.Value
			if v, err = d.anyValue(1); err == nil {
				ev.Time, _ = epochMillis(v)
			}
		case "orgId":
			orgID, err = d.scalar(1)
		case "userIdentity":
			ev.Email = ""
			identityDoc, err = d.subdocument(1, func(k string) error {
				if k == "email" {
					var err error
					ev.Email, err = d.scalar(2)
					return err
				}
				return d.skipValue(2)
			})
		case "requestParams":
			ev.Params = ev.Params[:0]
			paramsDoc, err = d.subdocument(1, func(k string) error { return p.skimParam(k, 2) })
		case "response":
			response = responseFields{}
			response.doc, err = d.subdocument(1, func(k string) error { return response.skim(d, k, 2) })
		case "identityMetadata":
			metadata, err = skimMetadata(d)
		case "identity_metadata":
			metadataSnake, err = skimMetadata(d)
		default:
			err = d.skipValue(1)
		}
		return err
	})
	if err != nil {
		return Resource{}, err
	}
	ev.WorkspaceID = workspaceID
	if ev.WorkspaceID == "" {
		ev.WorkspaceID = orgID
	}
	// In this order, as the map path: p.object reuses one scratch map.
	if id, ok := p.objectText(identityDoc); ok {
		ev.Email = str(id, "email")
	}
	if m, ok := p.objectText(paramsDoc); ok {
		p.readParams(m)
	}
	if m, ok := p.objectText(response.doc); ok {
		p.readResponse(m)
	} else {
		response.apply(ev)
	}
	if !metadata.present {
		metadata = metadataSnake
	}
	if m, ok := p.objectText(metadata.doc); ok {
		p.readIdentityMetadata(m)
	} else {
		metadata.apply(ev)
	}
	p.finish(dst)
	dst.Body().SetStr(text)
	return Resource{WorkspaceID: ev.WorkspaceID, AccountID: ev.AccountID, CloudProvider: p.CloudProvider}, nil
}

// objectText decodes a JSON-encoded sub-document into the parser's scratch map, as p.object
// does for a string value.
func (p *Parser) objectText(doc string) (pcommon.Map, bool) {
	if doc == "" {
		return pcommon.Map{}, false
	}
	if err := p.dec.decodeObjectString(doc, p.scratch); err != nil {
		return pcommon.Map{}, false
	}
	return p.scratch, true
}

// subdocument reads the value at d.pos where the map path calls p.object: an object's members
// go to member; a string that holds a JSON object is returned to be decoded later; anything
// else is skipped.
func (d *decoder) subdocument(depth int, member func(key string) error) (string, error) {
	switch d.data[d.pos] {
	case '{':
		return "", d.members(depth, member)
	case '"':
		s, err := d.scalar(depth)
		if err != nil || len(s) == 0 || s[0] != '{' {
			return "", err
		}
		return s, nil
	}
	return "", d.skipValue(depth)
}

// skimParam reads request parameter k as readParams does from a map: a later duplicate key
// replaces the value (or, when null, the parameter).
func (p *Parser) skimParam(k string, depth int) error {
	d := p.dec
	var value string
	var ok bool
	if d.data[d.pos] == '"' {
		start, end, escaped, err := d.scanString()
		if err != nil {
			return err
		}
		value, ok = d.stringAt(start, end, escaped), true
	} else {
		v, err := d.anyValue(depth)
		if err != nil {
			return err
		}
		value, ok = paramString(v)
	}
	params := p.ev.Params
	for i := range params {
		if params[i].Key == k {
			if ok {
				params[i].Value = value
			} else {
				p.ev.Params = append(params[:i], params[i+1:]...)
			}
			return nil
		}
	}
	if ok {
		p.ev.Params = append(params, Param{Key: k, Value: value})
	}
	return nil
}

// presentString is a field read the way strAny reads it: present unless null.
type presentString struct {
	value   string
	present bool
}

func (f *presentString) skim(d *decoder, depth int) (err error) {
	f.present = !d.isNull()
	f.value, err = d.scalar(depth)
	return err
}

// firstPresent is strAny over two spellings of a key.
func firstPresent(a, b presentString) string {
	if a.present {
		return a.value
	}
	return b.value
}

// responseFields are the fields readResponse reads from a response object.
type responseFields struct {
	doc                     string // a JSON-encoded response, decoded later
	status, statusSnake     statusField
	errorMsg, errorMsgSnake presentString
	result                  string
}

type statusField struct {
	code           int
	valid, present bool
}

func (r *responseFields) skim(d *decoder, k string, depth int) error {
	switch k {
	case "statusCode", "status_code":
		f := &r.status
		if k == "status_code" {
			f = &r.statusSnake
		}
		v, err := d.anyValue(depth)
		if err != nil {
			return err
		}
		f.present = v.Type() != pcommon.ValueTypeEmpty
		f.code, f.valid = parseStatus(v)
		return nil
	case "errorMessage":
		return r.errorMsg.skim(d, depth)
	case "error_message":
		return r.errorMsgSnake.skim(d, depth)
	case "result":
		var err error
		r.result, err = d.scalar(depth)
		return err
	}
	return d.skipValue(depth)
}

func (r *responseFields) apply(ev *Event) {
	status := r.status
	if !status.present {
		status = r.statusSnake
	}
	if status.present {
		ev.StatusCode, ev.HasStatus = status.code, status.valid
	}
	ev.ErrorMsg = firstPresent(r.errorMsg, r.errorMsgSnake)
	ev.Result = r.result
}

// metadataFields are the fields readIdentityMetadata reads, and whether the key was present
// (not null), which decides between identityMetadata and identity_metadata.
type metadataFields struct {
	present                              bool
	doc                                  string // a JSON-encoded identity metadata, decoded later
	runBy, runBySnake, runAs, runAsSnake presentString
}

func skimMetadata(d *decoder) (metadataFields, error) {
	m := metadataFields{present: !d.isNull()}
	var err error
	m.doc, err = d.subdocument(1, func(k string) error {
		switch k {
		case "runBy":
			return m.runBy.skim(d, 2)
		case "run_by":
			return m.runBySnake.skim(d, 2)
		case "runAs":
			return m.runAs.skim(d, 2)
		case "run_as":
			return m.runAsSnake.skim(d, 2)
		}
		return d.skipValue(2)
	})
	return m, err
}

func (m *metadataFields) apply(ev *Event) {
	ev.RunBy = firstPresent(m.runBy, m.runBySnake)
	ev.RunAs = firstPresent(m.runAs, m.runAsSnake)
}
