package dwarfx

// DWARF constants (DWARF 5, section 7) that the indexer and decoder use.

const (
	tagArrayType       = 0x01
	tagEnumerationType = 0x04
	tagFormalParameter = 0x05
	tagMember          = 0x0d
	tagPointerType     = 0x0f
	tagCompileUnit     = 0x11
	tagStructType      = 0x13
	tagSubroutineType  = 0x15
	tagTypedef         = 0x16
	tagUnionType       = 0x17
	tagUnspecParams    = 0x18
	tagInlinedSub      = 0x1d
	tagSubrangeType    = 0x21
	tagBaseType        = 0x24
	tagConstType       = 0x26
	tagEnumerator      = 0x28
	tagSubprogram      = 0x2e
	tagVariable        = 0x34
	tagVolatileType    = 0x35
	tagRestrictType    = 0x37
	tagImportedUnit    = 0x3d
	tagPartialUnit     = 0x3c
	tagTypeUnit        = 0x41
	tagUnspecType      = 0x3b
	tagAtomicType      = 0x47
	tagSkeletonUnit    = 0x4a
)

const (
	atSibling        = 0x01
	atLocation       = 0x02
	atName           = 0x03
	atByteSize       = 0x0b
	atBitOffset      = 0x0c
	atBitSize        = 0x0d
	atLowPC          = 0x11
	atLanguage       = 0x13
	atConstValue     = 0x1c
	atUpperBound     = 0x2f
	atPrototyped     = 0x27
	atCount          = 0x37
	atDataMemberLoc  = 0x38
	atDeclaration    = 0x3c
	atEncoding       = 0x3e
	atExternal       = 0x3f
	atSpecification  = 0x47
	atType           = 0x49
	atRanges         = 0x55
	atDataBitOffset  = 0x6b
	atStrOffsetsBase = 0x72
	atAddrBase       = 0x73
	atAbstractOrigin = 0x31
	atLowerBound     = 0x22
	atRnglistsBase   = 0x74
	atLoclistsBase   = 0x8c
	atGNUAddrBase    = 0x2133
	atGNUPubnames    = 0x2134
	atSignature      = 0x69
)

const (
	formAddr          = 0x01
	formBlock2        = 0x03
	formBlock4        = 0x04
	formData2         = 0x05
	formData4         = 0x06
	formData8         = 0x07
	formString        = 0x08
	formBlock         = 0x09
	formBlock1        = 0x0a
	formData1         = 0x0b
	formFlag          = 0x0c
	formSdata         = 0x0d
	formStrp          = 0x0e
	formUdata         = 0x0f
	formRefAddr       = 0x10
	formRef1          = 0x11
	formRef2          = 0x12
	formRef4          = 0x13
	formRef8          = 0x14
	formRefUdata      = 0x15
	formIndirect      = 0x16
	formSecOffset     = 0x17
	formExprloc       = 0x18
	formFlagPresent   = 0x19
	formStrx          = 0x1a
	formAddrx         = 0x1b
	formRefSup4       = 0x1c
	formStrpSup       = 0x1d
	formData16        = 0x1e
	formLineStrp      = 0x1f
	formRefSig8       = 0x20
	formImplicitConst = 0x21
	formLoclistx      = 0x22
	formRnglistx      = 0x23
	formRefSup8       = 0x24
	formStrx1         = 0x25
	formStrx2         = 0x26
	formStrx3         = 0x27
	formStrx4         = 0x28
	formAddrx1        = 0x29
	formAddrx2        = 0x2a
	formAddrx3        = 0x2b
	formAddrx4        = 0x2c
	formGNUAddrIndex  = 0x1f01
	formGNUStrIndex   = 0x1f02
	formGNURefAlt     = 0x1f20
	formGNUStrpAlt    = 0x1f21
)

// Unit types (DWARF 5, 7.5.1).
const (
	utCompile      = 0x01
	utType         = 0x02
	utPartial      = 0x03
	utSkeleton     = 0x04
	utSplitCompile = 0x05
	utSplitType    = 0x06
)

// Location operations the decoder understands.
const (
	opAddr        = 0x03
	opConstu      = 0x10
	opPlusUconst  = 0x23
	opAddrx       = 0xa1
	opConstx      = 0xa2
	opGNUAddrIdx  = 0xfb
	opGNUConstIdx = 0xfc
)

// Base type encodings.
const (
	EncAddress      = 0x01
	EncBoolean      = 0x02
	EncComplexFloat = 0x03
	EncFloat        = 0x04
	EncSigned       = 0x05
	EncSignedChar   = 0x06
	EncUnsigned     = 0x07
	EncUnsignedChar = 0x08
	EncUTF          = 0x10
)
