package logs

import (
	"encoding/json"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// logZapSink writes records to a zap core, making them one by one.
type logZapSink struct {
	core   zapcore.Core
	fields []zapcore.Field
	sc     logScratch
	r      Record
}

var logsZapLevels = map[string]zapcore.Level{
	"trace": zapcore.DebugLevel, "debug": zapcore.DebugLevel, "info": zapcore.InfoLevel,
	"warn": zapcore.WarnLevel, "error": zapcore.ErrorLevel, "fatal": zapcore.FatalLevel,
}

func (s *logZapSink) write(p *Parser, jobs []logJob) error {
	for i := range jobs {
		if !p.makeRecord(&jobs[i], &s.sc, &s.r) {
			continue
		}
		if err := s.writeRecord(&s.r); err != nil {
			return err
		}
		p.metrics.recorded(1)
	}
	return nil
}

func (s *logZapSink) writeRecord(r *Record) error {
	lvl, ok := logsZapLevels[r.Level]
	if !ok {
		lvl = zapcore.InfoLevel
	}
	if !s.core.Enabled(lvl) {
		return nil
	}
	fs := s.fields[:0]
	if !ok && r.Level != "" {
		fs = append(fs, zap.String("app_level", r.Level))
	}
	for _, f := range r.Fields {
		fs = append(fs, logZapField(f))
	}
	if r.ParseError != "" {
		fs = append(fs, zap.Bool("parse_error", true), zap.String("error", r.ParseError))
	}
	if r.Truncated {
		fs = append(fs, zap.Bool("truncated", true))
	}
	if len(r.Warnings) > 0 {
		fs = append(fs, zap.Strings("warnings", r.Warnings))
	}
	s.fields = fs
	// Write, not Check: a fatal record must not end this program.
	return s.core.Write(zapcore.Entry{Level: lvl, Time: r.Time, Message: r.Msg}, fs)
}

func (s *logZapSink) close() error { return nil }

func (s *logZapSink) flush() error { return nil } // records go straight to the core

func logZapField(f Field) zapcore.Field {
	switch v := f.Value.(type) {
	case string:
		return zap.String(f.Key, v)
	case bool:
		return zap.Bool(f.Key, v)
	case int64:
		return zap.Int64(f.Key, v)
	case float64:
		return zap.Float64(f.Key, v)
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return zap.Int64(f.Key, n)
		}
		if x, err := v.Float64(); err == nil {
			return zap.Float64(f.Key, x)
		}
		return zap.String(f.Key, string(v))
	case nil:
		return zap.Reflect(f.Key, nil)
	}
	return zap.Any(f.Key, f.Value)
}
