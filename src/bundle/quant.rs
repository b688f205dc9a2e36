//! Model weights to and from a bundle, with the item encoder's embedding tables optionally in
//! int8: the ID and token tables are over 90% of a model's parameters, and one byte per value
//! with one f32 scale per row keeps the browser download small at a cost the eval measures.
//!
//! `embeddings.q8` layout, little-endian: for the ID table, then the token table:
//! rows (u32) | columns (u32) | rows × scale (f32) | rows × columns × value (i8);
//! a value reads back as value × its row's scale.

use burn::module::{Module, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor, TensorData};

use crate::Result;
use crate::error::Error;
use crate::model::{ItemEncoderConfig, Model, ModelConfig};

/// One table, each row scaled so its largest magnitude maps to 127.
struct Int8Table {
    rows: usize,
    columns: usize,
    scales: Vec<f32>,
    values: Vec<i8>,
}

impl Int8Table {
    fn quantize(values: &[f32], rows: usize, columns: usize) -> Int8Table {
        let mut scales = Vec::with_capacity(rows);
        let mut out = Vec::with_capacity(values.len());
        for row in values.chunks(columns) {
            let largest = row.iter().fold(0f32, |m, v| m.max(v.abs()));
            let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
            scales.push(scale);
            out.extend(row.iter().map(|v| (v / scale).round().clamp(-127.0, 127.0) as i8));
        }
        Int8Table { rows, columns, scales, values: out }
    }

    fn dequantize(&self) -> Vec<f32> {
        self.values.chunks(self.columns).zip(&self.scales).flat_map(|(row, &scale)| row.iter().map(move |&v| f32::from(v) * scale)).collect()
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&(self.rows as u32).to_le_bytes());
        out.extend_from_slice(&(self.columns as u32).to_le_bytes());
        for scale in &self.scales {
            out.extend_from_slice(&scale.to_le_bytes());
        }
        out.extend(self.values.iter().map(|&v| v as u8));
    }

    /// Read one table from the front of `bytes`; the rest is returned.
    fn read(bytes: &[u8]) -> Result<(Int8Table, &[u8])> {
        let truncated = || Error::bundle("embeddings.q8 is truncated");
        let (rows, rest) = bytes.split_first_chunk::<4>().ok_or_else(truncated)?;
        let (columns, rest) = rest.split_first_chunk::<4>().ok_or_else(truncated)?;
        let (rows, columns) = (u32::from_le_bytes(*rows) as usize, u32::from_le_bytes(*columns) as usize);
        let scale_bytes = rows.checked_mul(4).ok_or_else(truncated)?;
        let value_bytes = rows.checked_mul(columns).ok_or_else(truncated)?;
        if rest.len() < scale_bytes.saturating_add(value_bytes) {
            return Err(truncated());
        }
        let (scales, rest) = rest.split_at(scale_bytes);
        let (values, rest) = rest.split_at(value_bytes);
        let scales: Vec<f32> = scales.chunks_exact(4).filter_map(|b| <[u8; 4]>::try_from(b).ok()).map(f32::from_le_bytes).collect();
        if scales.iter().any(|s| !s.is_finite()) {
            return Err(Error::bundle("embeddings.q8 has a scale that is not a finite number"));
        }
        Ok((Int8Table { rows, columns, scales, values: values.iter().map(|&b| b as i8).collect() }, rest))
    }
}

/// `weights.bpk` bytes and, when `quantize`, the `embeddings.q8` bytes (the weights then
/// carry one-row placeholders for the two tables).
pub fn pack(model: &Model, quantize: bool) -> Result<(Vec<u8>, Option<Vec<u8>>)> {
    let record_bytes = |model: Model| -> Result<Vec<u8>> {
        Ok(model.into_record().into_bytes().map_err(|e| Error::model(format!("serialising weights: {e}")))?.to_vec())
    };
    if !quantize {
        return Ok((record_bytes(model.clone())?, None));
    }
    let mut q8 = Vec::new();
    let mut skeleton = model.clone();
    for table in [&mut skeleton.item.id_embedding.weight, &mut skeleton.item.token_embedding.weight] {
        let values = table.val();
        let [rows, columns] = values.dims();
        let floats = values.clone().into_data().try_to_vec::<f32>().map_err(|e| Error::model(format!("reading an embedding table: {e:?}")))?;
        Int8Table::quantize(&floats, rows, columns).write(&mut q8);
        *table = Param::from_tensor(values.slice([0..1, 0..columns]));
    }
    Ok((record_bytes(skeleton)?, Some(q8)))
}

/// The model of `config` from `weights` (and `quantized`, when the bundle has it), on `device`.
pub fn unpack(config: &ModelConfig, weights: &[u8], quantized: Option<&[u8]>, device: &Device) -> Result<Model> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(weights.to_vec())).map_err(|e| Error::bundle(format!("weights.bpk: {e}")))?;
    let unfit = |e: String| Error::bundle(format!("weights.bpk does not fit the architecture: {e}"));
    let Some(mut q8) = quantized else {
        return Ok(config.init(device).try_load_record(record).map_err(|e| unfit(e.to_string()))?.valid());
    };
    // The weights hold one-row tables: load them into a model of that shape, then put the
    // dequantised tables in.
    let skeleton = ModelConfig { item: ItemEncoderConfig { n_items: 0, vocab_size: 1, ..config.item.clone() }, ..config.clone() };
    let mut model = skeleton.init(device).try_load_record(record).map_err(|e| unfit(e.to_string()))?.valid();
    let d = config.item.d_model;
    let expected = [("ID", config.item.n_items.saturating_add(1)), ("token", config.item.vocab_size)];
    for (table, (name, rows)) in [&mut model.item.id_embedding.weight, &mut model.item.token_embedding.weight].into_iter().zip(expected) {
        let (q, rest) = Int8Table::read(q8)?;
        q8 = rest;
        if q.rows != rows || q.columns != d {
            return Err(Error::bundle(format!("embeddings.q8: the {name} table is {}×{}, the model needs {rows}×{d}", q.rows, q.columns)));
        }
        *table = Param::from_tensor(Tensor::from_data(TensorData::new(q.dequantize(), [rows, d]), device));
    }
    if !q8.is_empty() {
        return Err(Error::bundle(format!("embeddings.q8 has {} bytes after its two tables", q8.len())));
    }
    Ok(model)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int8_rows_round_trip_within_half_a_step() {
        let values: Vec<f32> = (0..64).map(|i| ((i as f32) * 0.37).sin() * (1 + i / 16) as f32).collect();
        let table = Int8Table::quantize(&values, 4, 16);
        let mut bytes = Vec::new();
        table.write(&mut bytes);
        let (read, rest) = Int8Table::read(&bytes).unwrap();
        assert!(rest.is_empty());
        for ((row, back), scale) in values.chunks(16).zip(read.dequantize().chunks(16)).zip(&read.scales) {
            for (a, b) in row.iter().zip(back) {
                assert!((a - b).abs() <= scale / 2.0 + 1e-6, "{a} vs {b}");
            }
        }
        assert!(Int8Table::read(&bytes[..bytes.len() - 1]).is_err());
    }
}
