//! Reading a streamed answer: the server-sent-events decoder (`data:` lines, events ended by a
//! blank line) and the assembler that turns chunks into text deltas, tool calls put together from
//! their fragments by `index`, the finish reason and the usage — emitting [`StreamEvent`]s as it
//! goes, within bounds.

use std::collections::BTreeMap;

use tokio::sync::mpsc::UnboundedSender;

use super::wire::{self, Chunk, ToolCallFragment, Whole};
use super::{Completion, LlmError, StreamEvent, ToolCall, Usage};

/// The most tool calls one answer may make.
pub(crate) const MAX_TOOL_CALLS: usize = 32;

/// Splits an event stream into the data of its events.
#[derive(Debug, Default)]
pub(crate) struct SseDecoder {
    /// Bytes after the last complete line.
    partial: Vec<u8>,
    /// The data lines of the event being read, joined with `\n`.
    data: Option<String>,
}

impl SseDecoder {
    /// Feeds bytes; returns the data of every event they complete.
    pub(crate) fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.partial.extend_from_slice(bytes);
        let mut events = Vec::new();
        let mut start = 0;
        while let Some(at) = self.partial[start..].iter().position(|b| *b == b'\n') {
            let end = start + at;
            let line = String::from_utf8_lossy(&self.partial[start..end]).into_owned();
            self.line(line.strip_suffix('\r').unwrap_or(&line), &mut events);
            start = end + 1;
        }
        self.partial.drain(..start);
        events
    }

    /// The data of an event the stream ended in without its blank line.
    pub(crate) fn finish(&mut self) -> Option<String> {
        let rest = std::mem::take(&mut self.partial);
        let mut events = Vec::new();
        let line = String::from_utf8_lossy(&rest).into_owned();
        self.line(line.trim_end_matches('\r'), &mut events);
        events.extend(self.data.take());
        events.into_iter().next()
    }

    fn line(&mut self, line: &str, events: &mut Vec<String>) {
        if line.is_empty() {
            events.extend(self.data.take());
            return;
        }
        if line.starts_with(':') {
            return; // a comment, e.g. a keep-alive
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        if field == "data" {
            match &mut self.data {
                Some(data) => {
                    data.push('\n');
                    data.push_str(value);
                }
                None => self.data = Some(value.to_owned()),
            }
        }
    }
}

/// A tool call being put together.
#[derive(Debug, Default)]
struct Slot {
    id: String,
    name: String,
    arguments: String,
    announced: bool,
}

/// Puts an answer together from its chunks.
#[derive(Debug)]
pub(crate) struct Assembler<'a> {
    events: Option<&'a UnboundedSender<StreamEvent>>,
    content: String,
    calls: BTreeMap<usize, Slot>,
    finish_reason: Option<String>,
    usage: Option<Usage>,
    model: Option<String>,
    /// Whether an event was sent (from then on a failure must not be retried).
    pub(crate) emitted: bool,
    /// Whether `[DONE]` was read.
    pub(crate) done: bool,
    /// Whether any event's data was read.
    pub(crate) seen_data: bool,
}

impl<'a> Assembler<'a> {
    pub(crate) fn new(events: Option<&'a UnboundedSender<StreamEvent>>) -> Self {
        Self {
            events,
            content: String::new(),
            calls: BTreeMap::new(),
            finish_reason: None,
            usage: None,
            model: None,
            emitted: false,
            done: false,
            seen_data: false,
        }
    }

    fn emit(&mut self, event: StreamEvent) {
        self.emitted = true;
        if let Some(events) = self.events {
            // A closed receiver only means nobody watches any more; the answer is still wanted.
            let _ = events.send(event);
        }
    }

    /// Takes the data of one event: a chunk, or `[DONE]`.
    pub(crate) fn data(&mut self, data: &str) -> Result<(), LlmError> {
        self.seen_data = true;
        let data = data.trim();
        if data == "[DONE]" {
            self.done = true;
            return Ok(());
        }
        if data.is_empty() {
            return Ok(());
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
            LlmError::Protocol(format!(
                "the model server sent a chunk that is not an OpenAI chat-completion chunk ({e}): {}",
                wire::summary(data)
            ))
        })?;
        if let Some(error) = &chunk.error {
            let message = wire::error_value_message(error).unwrap_or_else(|| error.to_string());
            return Err(LlmError::Protocol(format!(
                "the model server reported an error mid-answer: {message}"
            )));
        }
        self.chunk(chunk)
    }

    fn chunk(&mut self, chunk: Chunk) -> Result<(), LlmError> {
        if self.model.is_none() {
            self.model = chunk.model.filter(|m| !m.is_empty());
        }
        if chunk.usage.is_some() {
            self.usage = chunk.usage;
        }
        // One choice is asked for (`n` is never sent); others would belong to another answer.
        for choice in chunk.choices.into_iter().filter(|c| c.index == 0) {
            if let Some(text) = choice.delta.content.filter(|t| !t.is_empty()) {
                self.content.push_str(&text);
                self.emit(StreamEvent::Delta(text));
            }
            for fragment in choice.delta.tool_calls {
                self.fragment(fragment)?;
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
        }
        Ok(())
    }

    fn fragment(&mut self, fragment: ToolCallFragment) -> Result<(), LlmError> {
        let id = fragment.id.filter(|id| !id.is_empty());
        let index = match fragment.index {
            Some(index) => index,
            // Servers that leave out `index` send a call's id with its first fragment only.
            None => {
                let known = id
                    .as_ref()
                    .is_some_and(|id| self.calls.values().any(|s| &s.id == id));
                match self.calls.keys().next_back() {
                    Some(last) if id.is_none() || known => *last,
                    Some(last) => last + 1,
                    None => 0,
                }
            }
        };
        if !self.calls.contains_key(&index) && self.calls.len() >= MAX_TOOL_CALLS {
            return Err(LlmError::Protocol(format!(
                "the model made more than {MAX_TOOL_CALLS} tool calls in one answer"
            )));
        }
        let slot = self.calls.entry(index).or_default();
        if let Some(id) = id
            && slot.id.is_empty()
        {
            slot.id = id;
        }
        if let Some(name) = fragment.function.name.filter(|n| !n.is_empty())
            && slot.name.is_empty()
        {
            slot.name = name;
        }
        if let Some(arguments) = fragment.function.arguments {
            slot.arguments.push_str(&arguments);
        }
        if !slot.announced && !slot.name.is_empty() {
            slot.announced = true;
            if slot.id.is_empty() {
                slot.id = format!("call_{index}");
            }
            let event = StreamEvent::ToolCallStarted {
                index,
                id: slot.id.clone(),
                name: slot.name.clone(),
            };
            self.emit(event);
        }
        Ok(())
    }

    /// Takes a whole non-streamed `chat.completion` (a server that ignored `"stream": true`).
    pub(crate) fn whole(&mut self, whole: Whole) -> Result<(), LlmError> {
        self.seen_data = true;
        self.done = true;
        self.model = whole.model.filter(|m| !m.is_empty());
        self.usage = whole.usage;
        let Some(choice) = whole.choices.into_iter().next() else {
            return Err(LlmError::Protocol(
                "the model server's answer has no choices".to_owned(),
            ));
        };
        self.finish_reason = choice.finish_reason;
        if let Some(text) = choice.message.content.filter(|t| !t.is_empty()) {
            self.content.push_str(&text);
            self.emit(StreamEvent::Delta(text));
        }
        if choice.message.tool_calls.len() > MAX_TOOL_CALLS {
            return Err(LlmError::Protocol(format!(
                "the model made more than {MAX_TOOL_CALLS} tool calls in one answer"
            )));
        }
        for (index, call) in choice.message.tool_calls.into_iter().enumerate() {
            let call = call.into_call(index);
            self.emit(StreamEvent::ToolCallStarted {
                index,
                id: call.id.clone(),
                name: call.name.clone(),
            });
            self.calls.insert(
                index,
                Slot {
                    id: call.id,
                    name: call.name,
                    arguments: call.arguments,
                    announced: true,
                },
            );
        }
        Ok(())
    }

    /// The completion, once the stream ended; `fallback_model` when the server named none.
    pub(crate) fn finish(self, fallback_model: &str) -> Result<Completion, LlmError> {
        if !self.done && self.finish_reason.is_none() {
            return Err(LlmError::Protocol(
                "the model's stream stopped mid-answer (no finish_reason and no [DONE]); \
                 the answer is incomplete, try asking again"
                    .to_owned(),
            ));
        }
        let mut tool_calls = Vec::with_capacity(self.calls.len());
        for (index, slot) in self.calls {
            if slot.name.is_empty() {
                return Err(LlmError::Protocol(format!(
                    "the model's tool call {index} has no function name"
                )));
            }
            tool_calls.push(ToolCall {
                id: slot.id,
                name: slot.name,
                arguments: slot.arguments,
            });
        }
        Ok(Completion {
            content: self.content,
            tool_calls,
            finish_reason: self.finish_reason,
            usage: self.usage,
            model: self.model.unwrap_or_else(|| fallback_model.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_split_across_reads_and_lines() {
        let mut decoder = SseDecoder::default();
        assert!(decoder.feed(b"data: {\"a\"").is_empty());
        let events = decoder.feed(b":1}\r\n\r\n: keep-alive\n\ndata:[DONE]\n\n");
        assert_eq!(events, vec!["{\"a\":1}".to_owned(), "[DONE]".to_owned()]);
        assert_eq!(decoder.feed(b"data: x\ndata: y"), Vec::<String>::new());
        assert_eq!(decoder.finish().as_deref(), Some("x\ny"));
    }

    #[test]
    fn fragments_without_index_follow_ids() {
        let mut assembler = Assembler::new(None);
        for data in [
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"a","function":{"name":"f","arguments":"{"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"}"}}]}}]}"#,
            r#"{"choices":[{"index":0,"delta":{"tool_calls":[{"id":"b","function":{"name":"g","arguments":"[]"}}]},"finish_reason":"tool_calls"}]}"#,
        ] {
            assembler.data(data).unwrap();
        }
        let completion = assembler.finish("m").unwrap();
        let calls: Vec<_> = completion
            .tool_calls
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str(), c.arguments.as_str()))
            .collect();
        assert_eq!(calls, vec![("a", "f", "{}"), ("b", "g", "[]")]);
        assert_eq!(completion.model, "m");
    }

    #[test]
    fn too_many_tool_calls_is_a_protocol_error() {
        let mut assembler = Assembler::new(None);
        let mut result = Ok(());
        for index in 0..=MAX_TOOL_CALLS {
            let data = format!(
                r#"{{"choices":[{{"index":0,"delta":{{"tool_calls":[{{"index":{index},"id":"c{index}","function":{{"name":"f"}}}}]}}}}]}}"#
            );
            result = assembler.data(&data);
        }
        assert!(matches!(result, Err(LlmError::Protocol(m)) if m.contains("32")));
    }
}
