//! TEMPORARY STUB: replaced by the real module.
#![allow(missing_docs, unused)]
use serde_json::Value;
#[derive(Debug, Clone, PartialEq, thiserror::Error)] pub enum JsonPathError { #[error("syntax")] Syntax { path: String, position: usize, message: String } }
#[derive(Debug, Clone)] pub struct JsonPath { text: String }
impl JsonPath {
  pub fn parse(path: &str) -> Result<JsonPath, JsonPathError> { todo!() }
  pub fn as_str(&self) -> &str { &self.text }
  pub fn select<'a>(&self, root: &'a Value) -> Vec<&'a Value> { todo!() }
  pub fn for_each_mut<E>(&self, root: &mut Value, f: &mut dyn FnMut(&mut Value) -> Result<(), E>) -> Result<(), E> { todo!() }
  pub fn delete(&self, root: &mut Value) -> usize { todo!() }
}
