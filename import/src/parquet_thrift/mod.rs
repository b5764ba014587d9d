//! A bounded walk of the Thrift-encoded parts of a Parquet file (the footer
//! and every page header), before the Parquet reader decodes them.
//!
//! The reader's Thrift decoder (parquet 60) skips the fields it does not know
//! without bounds: a skipped `list<bool>` takes no bytes per element, and a
//! skipped binary or double past the end of a page header's input reads
//! nothing and succeeds. So a few hundred bytes can ask for billions of steps
//! (found by the `import_parquet` fuzz target: six minutes for a 769-byte
//! file whose page header skips values, nested in sets, past the end of the
//! file).
//! This walk reads the same bytes as the compact protocol defines them, only
//! the bytes that are there, and refuses what the reader would loop on:
//! collections of booleans (no Parquet structure has one), collections that
//! claim more elements than there are bytes left (every element takes at
//! least one), nesting deeper than [`MAX_DEPTH`], and anything cut short.
//!
//! The walk protects the reader only where both read the same bytes as the
//! same fields. The reader decodes a field it knows by the type the format
//! declares for it, whatever type the wire names, and skips the others by
//! their wire type; so the walk knows the format's structures ([`schema`]),
//! walks a known field by its declared type and refuses one whose wire type
//! differs (the first fuzz finding had its footer read as a binary where the
//! wire said boolean), and walks unknown fields by their wire type.

mod schema;

use schema::{COMPRESSED_PAGE_SIZE, FILE_META_DATA, Field, PAGE_HEADER, Schema};

/// How deeply values may nest; Parquet's own structures nest about six deep.
const MAX_DEPTH: u8 = 32;

/// Why a walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WalkError {
    /// The bytes ended inside a value: more bytes may complete it.
    Truncated,
    /// The bytes are not a structure the reader can decode within bounds.
    Invalid(String),
}

impl std::fmt::Display for WalkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated => f.write_str("a Thrift structure ends before its last value"),
            Self::Invalid(why) => f.write_str(why),
        }
    }
}

fn invalid(why: impl Into<String>) -> WalkError {
    WalkError::Invalid(why.into())
}

/// A compact-protocol type code, as a field or a collection element names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wire {
    Bool,
    Byte,
    I16,
    I32,
    I64,
    Double,
    Binary,
    List,
    Set,
    Map,
    Struct,
    Uuid,
}

impl Wire {
    /// Whether a value sent as `other` takes the same bytes as one of this
    /// type: the integers are all zigzag varints, whatever their width.
    fn reads_like(self, other: Self) -> bool {
        let integer = |wire| matches!(wire, Self::I16 | Self::I32 | Self::I64);
        self == other || (integer(self) && integer(other))
    }

    /// Codes 1 and 2 are both booleans: a field carries its value in the
    /// code, and writers disagree on which code marks a collection of them.
    fn from_code(code: u8) -> Result<Self, WalkError> {
        Ok(match code {
            1 | 2 => Self::Bool,
            3 => Self::Byte,
            4 => Self::I16,
            5 => Self::I32,
            6 => Self::I64,
            7 => Self::Double,
            8 => Self::Binary,
            9 => Self::List,
            10 => Self::Set,
            11 => Self::Map,
            12 => Self::Struct,
            13 => Self::Uuid,
            _ => return Err(invalid(format!("unknown Thrift type code {code}"))),
        })
    }
}

impl Field {
    /// The wire type a known field must come with.
    fn wire(self) -> Wire {
        match self {
            Self::Int8 => Wire::Byte,
            Self::Int16 => Wire::I16,
            Self::Int32 => Wire::I32,
            Self::Int64 => Wire::I64,
            Self::Bool => Wire::Bool,
            Self::Double => Wire::Double,
            Self::Binary => Wire::Binary,
            Self::Struct(_) => Wire::Struct,
            Self::List(_) => Wire::List,
        }
    }
}

/// Walks the footer's `FileMetaData` struct, which fills `bytes`.
pub(crate) fn check_footer(bytes: &[u8]) -> Result<(), WalkError> {
    let mut walk = Walk { bytes, pos: 0 };
    walk.strukt(Some(FILE_META_DATA), MAX_DEPTH, &mut |_, _| {})
}

/// A page header read from the front of some bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageHeader {
    /// The header's own length in bytes.
    pub(crate) len: u64,
    /// The length of the page that follows it.
    pub(crate) compressed_page_size: i64,
}

/// Walks the page header at the front of `bytes`.
pub(crate) fn read_page_header(bytes: &[u8]) -> Result<PageHeader, WalkError> {
    let mut walk = Walk { bytes, pos: 0 };
    let mut compressed_page_size = None;
    walk.strukt(Some(PAGE_HEADER), MAX_DEPTH, &mut |id, value| {
        if id == COMPRESSED_PAGE_SIZE {
            compressed_page_size = Some(value);
        }
    })?;
    let compressed_page_size =
        compressed_page_size.ok_or_else(|| invalid("a page header has no compressed size"))?;
    Ok(PageHeader {
        len: walk.pos as u64,
        compressed_page_size,
    })
}

struct Walk<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Walk<'_> {
    fn remaining(&self) -> usize {
        self.bytes.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, WalkError> {
        let byte = *self.bytes.get(self.pos).ok_or(WalkError::Truncated)?;
        self.pos += 1;
        Ok(byte)
    }

    fn skip(&mut self, len: u64) -> Result<(), WalkError> {
        match usize::try_from(len) {
            Ok(len) if len <= self.remaining() => {
                self.pos += len;
                Ok(())
            }
            _ => Err(WalkError::Truncated),
        }
    }

    /// An unsigned LEB128 varint of at most ten bytes (a `u64`).
    fn varint(&mut self) -> Result<u64, WalkError> {
        let mut value = 0_u64;
        for shift in (0..70).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(invalid("a Thrift varint runs over ten bytes"))
    }

    fn zigzag(&mut self) -> Result<i64, WalkError> {
        let value = self.varint()?;
        Ok((value >> 1) as i64 ^ -((value & 1) as i64))
    }

    /// A collection's element count, checked against the bytes left: every
    /// element of a non-boolean type takes at least one byte.
    fn collection_size(&mut self, size: u64, per_element: u64) -> Result<u64, WalkError> {
        // The reader holds sizes as i32 and refuses larger ones.
        if i32::try_from(size).is_err() {
            return Err(invalid(format!(
                "a Thrift collection claims {size} elements"
            )));
        }
        if size.saturating_mul(per_element) > self.remaining() as u64 {
            return Err(invalid(format!(
                "a Thrift collection claims {size} elements in {} bytes",
                self.remaining()
            )));
        }
        Ok(size)
    }

    fn element(code: u8) -> Result<Wire, WalkError> {
        match Wire::from_code(code)? {
            Wire::Bool => Err(invalid("a Thrift collection of booleans")),
            wire => Ok(wire),
        }
    }

    /// The fields of a struct up to its stop byte. `schema` names the fields
    /// the reader decodes by type (`None`: it skips them all); `on_integer`
    /// sees this level's integer fields.
    fn strukt(
        &mut self,
        schema: Option<Schema>,
        depth: u8,
        on_integer: &mut dyn FnMut(i16, i64),
    ) -> Result<(), WalkError> {
        let depth = Self::deeper(depth)?;
        let mut last_id = 0_i16;
        loop {
            let header = self.byte()?;
            if header & 0x0f == 0 {
                return Ok(());
            }
            let wire = Wire::from_code(header & 0x0f)?;
            let delta = header >> 4;
            let id = if delta == 0 {
                // The reader truncates a long field id to i16 the same way.
                self.zigzag()? as i16
            } else {
                last_id
                    .checked_add(i16::from(delta))
                    .ok_or_else(|| invalid("a Thrift field id overflows"))?
            };
            let known = schema.and_then(|fields| {
                fields
                    .iter()
                    .find(|(known_id, _)| *known_id == id)
                    .map(|(_, field)| *field)
            });
            if let Some(field) = known
                && !field.wire().reads_like(wire)
            {
                return Err(invalid(format!(
                    "Thrift field {id} is {wire:?} where {:?} belongs",
                    field.wire()
                )));
            }
            if matches!(wire, Wire::I16 | Wire::I32 | Wire::I64) {
                on_integer(id, self.zigzag()?);
            } else if wire != Wire::Bool {
                // A boolean field holds its value in its type code.
                self.value(wire, known, depth)?;
            }
            last_id = id;
        }
    }

    /// A value of type `wire`; `known` is what the reader expects in it,
    /// when it reads it by a schema.
    fn value(&mut self, wire: Wire, known: Option<Field>, depth: u8) -> Result<(), WalkError> {
        match wire {
            // Only as a field, where the type code is the value; collections
            // of booleans are refused before their elements are read.
            Wire::Bool => Ok(()),
            Wire::Byte => self.skip(1),
            Wire::I16 | Wire::I32 | Wire::I64 => self.varint().map(drop),
            Wire::Double => self.skip(8),
            Wire::Uuid => self.skip(16),
            Wire::Binary => {
                let len = self.varint()?;
                self.skip(len)
            }
            Wire::Struct => {
                let schema = match known {
                    Some(Field::Struct(schema)) => Some(schema),
                    _ => None,
                };
                self.strukt(schema, depth, &mut |_, _| {})
            }
            Wire::List | Wire::Set => {
                let header = self.byte()?;
                // Some writers mark an empty list with a zero byte.
                if header == 0 {
                    return Ok(());
                }
                let element = Self::element(header & 0x0f)?;
                let known = match known {
                    Some(Field::List(declared)) if !declared.wire().reads_like(element) => {
                        return Err(invalid(format!(
                            "a Thrift list of {element:?} where {:?} belong",
                            declared.wire()
                        )));
                    }
                    Some(Field::List(declared)) => Some(*declared),
                    _ => None,
                };
                let short = u64::from(header >> 4);
                let size = if short == 15 { self.varint()? } else { short };
                let size = self.collection_size(size, 1)?;
                let depth = Self::deeper(depth)?;
                for _ in 0..size {
                    self.value(element, known, depth)?;
                }
                Ok(())
            }
            Wire::Map => {
                let size = self.varint()?;
                if size == 0 {
                    return Ok(());
                }
                let types = self.byte()?;
                let (key, val) = (Self::element(types >> 4)?, Self::element(types & 0x0f)?);
                let size = self.collection_size(size, 2)?;
                let depth = Self::deeper(depth)?;
                for _ in 0..size {
                    self.value(key, None, depth)?;
                    self.value(val, None, depth)?;
                }
                Ok(())
            }
        }
    }

    /// The depth left one level down, or the error for nesting too deep.
    fn deeper(depth: u8) -> Result<u8, WalkError> {
        depth
            .checked_sub(1)
            .ok_or_else(|| invalid(format!("Thrift values nest over {MAX_DEPTH} deep")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field header with a full (zigzag) id, as writers use for big jumps.
    fn field(id: i16, code: u8) -> Vec<u8> {
        let mut out = vec![code];
        out.extend(varint(zigzag(i64::from(id))));
        out
    }

    fn varint(mut value: u64) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }

    fn zigzag(value: i64) -> u64 {
        ((value << 1) ^ (value >> 63)) as u64
    }

    fn int(id: i16, value: i64) -> Vec<u8> {
        let mut out = field(id, 5);
        out.extend(varint(zigzag(value)));
        out
    }

    /// A data page header (v1) as writers write it, before its stop byte.
    fn data_page_header(compressed: i64) -> Vec<u8> {
        let mut out = [int(1, 0), int(2, 40), int(3, compressed)].concat();
        out.extend(field(5, 12));
        out.extend([int(1, 10), int(2, 0), int(3, 3), int(4, 3)].concat());
        out.push(0);
        out
    }

    #[test]
    fn a_well_formed_page_header_gives_its_length_and_page_size() {
        let mut bytes = data_page_header(37);
        bytes.push(0);
        let header_len = bytes.len() as u64;
        bytes.extend([0xAA; 37]);
        assert_eq!(
            read_page_header(&bytes),
            Ok(PageHeader {
                len: header_len,
                compressed_page_size: 37
            })
        );
    }

    #[test]
    fn unknown_fields_are_walked_over() {
        let mut bytes = data_page_header(5);
        // A binary, a list of i32 and a map of string to struct, all unknown.
        bytes.extend(field(40, 8));
        bytes.extend([3, b'a', b'b', b'c']);
        bytes.extend(field(41, 9));
        bytes.extend([0x35, 2, 4, 6]);
        bytes.extend(field(42, 11));
        bytes.extend([1, 0x8C, 1, b'k', 0]);
        bytes.push(0);
        let header = read_page_header(&bytes).expect("walks");
        assert_eq!(header.len, bytes.len() as u64);
    }

    #[test]
    fn a_skipped_list_of_booleans_is_refused_whatever_its_size() {
        // The reader would step through every element without reading a byte.
        for size_bytes in [vec![0x11], [vec![0xF1], varint(i32::MAX as u64)].concat()] {
            let mut bytes = data_page_header(0);
            bytes.extend(field(50, 9));
            bytes.extend(size_bytes);
            bytes.extend([1; 8]);
            bytes.push(0);
            assert_eq!(
                read_page_header(&bytes),
                Err(invalid("a Thrift collection of booleans"))
            );
        }
    }

    #[test]
    fn a_list_claiming_more_elements_than_bytes_is_refused() {
        let mut bytes = data_page_header(0);
        bytes.extend(field(50, 9));
        // Two billion doubles in the 9 bytes left.
        bytes.extend([0xF7]);
        bytes.extend(varint(2_000_000_000));
        bytes.extend([0; 9]);
        match read_page_header(&bytes) {
            Err(WalkError::Invalid(why)) => assert!(why.contains("claims 2000000000"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_value_past_the_end_is_truncated_not_skipped() {
        let mut bytes = data_page_header(0);
        bytes.extend(field(50, 8));
        bytes.extend(varint(1_000));
        bytes.extend([0; 10]);
        assert_eq!(read_page_header(&bytes), Err(WalkError::Truncated));
        let mut doubles = data_page_header(0);
        doubles.extend(field(51, 7));
        doubles.extend([0; 3]);
        assert_eq!(read_page_header(&doubles), Err(WalkError::Truncated));
    }

    #[test]
    fn a_known_field_with_another_wire_type_is_refused() {
        // Field 3 (an i32) sent as a binary would be read as a varint by the
        // reader and as a length here: the two would part ways.
        let mut bytes = [int(1, 0), int(2, 40)].concat();
        bytes.extend(field(3, 8));
        bytes.extend([2, 0, 0, 0]);
        match read_page_header(&bytes) {
            Err(WalkError::Invalid(why)) => assert!(why.contains("field 3 is Binary"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn nesting_is_bounded() {
        // Unknown structs inside unknown structs, deeper than the bound.
        let mut bytes = data_page_header(0);
        for _ in 0..40 {
            bytes.extend(field(60, 12));
        }
        bytes.extend([0; 41]);
        match read_page_header(&bytes) {
            Err(WalkError::Invalid(why)) => assert!(why.contains("nest"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_page_header_without_a_compressed_size_is_refused() {
        let bytes = [int(1, 0), int(2, 40), vec![0]].concat();
        assert_eq!(
            read_page_header(&bytes),
            Err(invalid("a page header has no compressed size"))
        );
    }

    #[test]
    fn the_footer_is_walked_by_its_schema() {
        // version, an empty schema list, num_rows and a created_by string.
        let mut footer = int(1, 2);
        footer.extend(field(2, 9));
        footer.push(0x0C);
        footer.extend(field(3, 6));
        footer.extend(varint(zigzag(7)));
        footer.extend(field(6, 8));
        footer.extend([2, b'm', b'e', 0]);
        assert_eq!(check_footer(&footer), Ok(()));
        let open = &footer[..footer.len() - 1];
        // An integer of another width takes the same bytes: read alike.
        let mut narrow_rows = open.to_vec();
        narrow_rows.extend(field(3, 5));
        narrow_rows.extend([14, 0]);
        assert_eq!(check_footer(&narrow_rows), Ok(()));
        let mut booleans = open.to_vec();
        booleans.extend(field(100, 9));
        booleans.extend([0xF1, 0xFF, 0xFF, 0xFF, 0xFF, 0x07, 0]);
        assert_eq!(
            check_footer(&booleans),
            Err(invalid("a Thrift collection of booleans"))
        );
        // The reader would read num_rows (an i64) from the bytes after a
        // boolean's type code, and part ways with the wire from there.
        let mut boolean_rows = open.to_vec();
        boolean_rows.extend(field(3, 1));
        boolean_rows.push(0);
        assert_eq!(
            check_footer(&boolean_rows),
            Err(invalid("Thrift field 3 is Bool where I64 belongs"))
        );
        // The schema is a list of structs, not of integers.
        let mut integer_schema = int(1, 2);
        integer_schema.extend(field(2, 9));
        integer_schema.extend([0x15, 2, 0]);
        assert_eq!(
            check_footer(&integer_schema),
            Err(invalid("a Thrift list of I32 where Struct belong"))
        );
    }
}
