//! The Thrift structures of Parquet's metadata, as far as the walk needs
//! them: for every struct, each field id the format defines and the type it
//! declares (`parquet.thrift` of parquet-format 2.12, which parquet 60
//! reads). The reader decodes a field it knows by that type whatever the
//! wire says; declaring every field of the format, even ones the reader
//! skips, only makes the walk stricter, never looser.

/// What a known field holds.
#[derive(Debug, Clone, Copy)]
pub(super) enum Field {
    Int8,
    Int16,
    Int32,
    Int64,
    Bool,
    Double,
    /// Bytes or a string.
    Binary,
    Struct(Schema),
    List(&'static Field),
}

/// The fields of a struct (or a union) by id; other ids are skipped.
pub(super) type Schema = &'static [(i16, Field)];

use Field::{Binary, Bool, Double, Int8, Int16, Int32, Int64, List, Struct};

const EMPTY: Schema = &[];

/// `PageHeader`, field 3 of which is the page's compressed size.
pub(super) const PAGE_HEADER: Schema = &[
    (1, Int32),
    (2, Int32),
    (3, Int32),
    (4, Int32),
    (5, Struct(DATA_PAGE_HEADER)),
    (6, Struct(EMPTY)),
    (7, Struct(DICTIONARY_PAGE_HEADER)),
    (8, Struct(DATA_PAGE_HEADER_V2)),
];

pub(super) const COMPRESSED_PAGE_SIZE: i16 = 3;

const DATA_PAGE_HEADER: Schema = &[
    (1, Int32),
    (2, Int32),
    (3, Int32),
    (4, Int32),
    (5, Struct(STATISTICS)),
];

const DICTIONARY_PAGE_HEADER: Schema = &[(1, Int32), (2, Int32), (3, Bool)];

const DATA_PAGE_HEADER_V2: Schema = &[
    (1, Int32),
    (2, Int32),
    (3, Int32),
    (4, Int32),
    (5, Int32),
    (6, Int32),
    (7, Bool),
    (8, Struct(STATISTICS)),
];

/// `Statistics`, of a column chunk or (as `PageStatistics`) of a page.
const STATISTICS: Schema = &[
    (1, Binary),
    (2, Binary),
    (3, Int64),
    (4, Int64),
    (5, Binary),
    (6, Binary),
    (7, Bool),
    (8, Bool),
    (9, Int64),
];

/// `FileMetaData`: the footer.
pub(super) const FILE_META_DATA: Schema = &[
    (1, Int32),
    (2, List(&Struct(SCHEMA_ELEMENT))),
    (3, Int64),
    (4, List(&Struct(ROW_GROUP))),
    (5, List(&Struct(KEY_VALUE))),
    (6, Binary),
    (7, List(&Struct(COLUMN_ORDER))),
    (8, Struct(ENCRYPTION_ALGORITHM)),
    (9, Binary),
];

const SCHEMA_ELEMENT: Schema = &[
    (1, Int32),
    (2, Int32),
    (3, Int32),
    (4, Binary),
    (5, Int32),
    (6, Int32),
    (7, Int32),
    (8, Int32),
    (9, Int32),
    (10, Struct(LOGICAL_TYPE)),
];

/// A union: one field, whose id names the logical type.
const LOGICAL_TYPE: Schema = &[
    (1, Struct(EMPTY)),
    (2, Struct(EMPTY)),
    (3, Struct(EMPTY)),
    (4, Struct(EMPTY)),
    (5, Struct(&[(1, Int32), (2, Int32)])),
    (6, Struct(EMPTY)),
    (7, Struct(TIME_OR_TIMESTAMP)),
    (8, Struct(TIME_OR_TIMESTAMP)),
    (10, Struct(&[(1, Int8), (2, Bool)])),
    (11, Struct(EMPTY)),
    (12, Struct(EMPTY)),
    (13, Struct(EMPTY)),
    (14, Struct(EMPTY)),
    (15, Struct(EMPTY)),
    (16, Struct(&[(1, Int8)])),
    (17, Struct(&[(1, Binary)])),
    (18, Struct(&[(1, Binary), (2, Int32)])),
];

/// `TimeType` and `TimestampType`: whether adjusted to UTC, and the unit (a
/// union of three empty structs).
const TIME_OR_TIMESTAMP: Schema = &[
    (1, Bool),
    (
        2,
        Struct(&[(1, Struct(EMPTY)), (2, Struct(EMPTY)), (3, Struct(EMPTY))]),
    ),
];

const ROW_GROUP: Schema = &[
    (1, List(&Struct(COLUMN_CHUNK))),
    (2, Int64),
    (3, Int64),
    (4, List(&Struct(&[(1, Int32), (2, Bool), (3, Bool)]))),
    (5, Int64),
    (6, Int64),
    (7, Int16),
];

const COLUMN_CHUNK: Schema = &[
    (1, Binary),
    (2, Int64),
    (3, Struct(COLUMN_META_DATA)),
    (4, Int64),
    (5, Int32),
    (6, Int64),
    (7, Int32),
    (8, Struct(COLUMN_CRYPTO_META_DATA)),
    (9, Binary),
];

const COLUMN_META_DATA: Schema = &[
    (1, Int32),
    (2, List(&Int32)),
    (3, List(&Binary)),
    (4, Int32),
    (5, Int64),
    (6, Int64),
    (7, Int64),
    (8, List(&Struct(KEY_VALUE))),
    (9, Int64),
    (10, Int64),
    (11, Int64),
    (12, Struct(STATISTICS)),
    (13, List(&Struct(&[(1, Int32), (2, Int32), (3, Int32)]))),
    (14, Int64),
    (15, Int32),
    (
        16,
        Struct(&[(1, Int64), (2, List(&Int64)), (3, List(&Int64))]),
    ),
    (17, Struct(GEOSPATIAL_STATISTICS)),
];

const GEOSPATIAL_STATISTICS: Schema = &[
    (
        1,
        Struct(&[
            (1, Double),
            (2, Double),
            (3, Double),
            (4, Double),
            (5, Double),
            (6, Double),
            (7, Double),
            (8, Double),
        ]),
    ),
    (2, List(&Int32)),
];

const KEY_VALUE: Schema = &[(1, Binary), (2, Binary)];

/// A union with one member: `TypeDefinedOrder`, an empty struct.
const COLUMN_ORDER: Schema = &[(1, Struct(EMPTY))];

/// A union: the footer's key, or a column key (`path_in_schema`, `key_metadata`).
const COLUMN_CRYPTO_META_DATA: Schema = &[
    (1, Struct(EMPTY)),
    (2, Struct(&[(1, List(&Binary)), (2, Binary)])),
];

/// A union of `AesGcmV1` and `AesGcmCtrV1`, which have the same fields.
const ENCRYPTION_ALGORITHM: Schema = &[(1, Struct(AES_GCM)), (2, Struct(AES_GCM))];

const AES_GCM: Schema = &[(1, Binary), (2, Binary), (3, Bool)];
