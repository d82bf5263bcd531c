//! RSA public keys as webhook issuers publish them: a `SubjectPublicKeyInfo` (X.509 SPKI, DER),
//! read into its modulus and exponent. Only the few DER forms an RSA SPKI uses are read.

/// A key that is not an RSA `SubjectPublicKeyInfo`, or too weak to accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpkiError {
    /// The DER structure is broken or not the SPKI shape.
    #[error("not a DER SubjectPublicKeyInfo ({0})")]
    Malformed(&'static str),
    /// The algorithm is not rsaEncryption.
    #[error("not an RSA key (only RSA keys sign webhook tokens)")]
    NotRsa,
    /// The modulus is under 2048 bits.
    #[error("RSA key of {0} bits; at least 2048 are required")]
    TooShort(usize),
}

/// An RSA public key: big-endian modulus and exponent, without leading zero bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    /// The modulus `n`.
    pub n: Vec<u8>,
    /// The public exponent `e`.
    pub e: Vec<u8>,
}

/// rsaEncryption, 1.2.840.113549.1.1.1.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

impl RsaPublicKey {
    /// Reads an RSA key from SPKI DER; refuses other algorithms and keys under 2048 bits.
    pub fn from_spki_der(der: &[u8]) -> Result<RsaPublicKey, SpkiError> {
        let mut outer = Reader(der);
        let mut spki = Reader(outer.element(0x30, "SubjectPublicKeyInfo")?);
        outer.end("trailing bytes")?;
        let mut algorithm = Reader(spki.element(0x30, "AlgorithmIdentifier")?);
        if algorithm.element(0x06, "algorithm")? != RSA_ENCRYPTION {
            return Err(SpkiError::NotRsa);
        }
        let bits = spki.element(0x03, "subjectPublicKey")?;
        let Some((&0, key)) = bits.split_first() else {
            return Err(SpkiError::Malformed("subjectPublicKey has unused bits"));
        };
        spki.end("SubjectPublicKeyInfo")?;
        let mut outer = Reader(key);
        let mut rsa = Reader(outer.element(0x30, "RSAPublicKey")?);
        outer.end("RSAPublicKey")?;
        let n = unsigned(rsa.element(0x02, "modulus")?)?;
        let e = unsigned(rsa.element(0x02, "publicExponent")?)?;
        rsa.end("RSAPublicKey")?;
        if n.is_empty() {
            return Err(SpkiError::Malformed("modulus is zero"));
        }
        let bits = n.len() * 8 - n.first().map_or(8, |b| b.leading_zeros() as usize);
        if bits < 2048 {
            return Err(SpkiError::TooShort(bits));
        }
        if e.is_empty() {
            return Err(SpkiError::Malformed("publicExponent is zero"));
        }
        Ok(RsaPublicKey { n, e })
    }

    /// The key as SPKI DER (what `ACCEPTED_AUTH_KEYS` holds after `base64:`).
    pub fn to_spki_der(&self) -> Vec<u8> {
        let rsa = der(0x30, &[der_uint(&self.n), der_uint(&self.e)].concat());
        let mut bits = vec![0u8];
        bits.extend_from_slice(&rsa);
        let algorithm = der(
            0x30,
            &[der(0x06, RSA_ENCRYPTION), vec![0x05, 0x00]].concat(),
        );
        der(0x30, &[algorithm, der(0x03, &bits)].concat())
    }
}

/// An INTEGER's content as an unsigned big-endian number without leading zeros.
fn unsigned(content: &[u8]) -> Result<Vec<u8>, SpkiError> {
    if content.first().is_some_and(|b| b & 0x80 != 0) {
        return Err(SpkiError::Malformed("negative integer"));
    }
    let start = content
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(content.len());
    Ok(content[start..].to_vec())
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend_from_slice(&bytes);
    }
    out.extend_from_slice(content);
    out
}

fn der_uint(value: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(value.len() + 1);
    if value.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(value);
    der(0x02, &content)
}

/// A cursor over DER elements.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The content of the next element, which must have `tag`.
    fn element(&mut self, tag: u8, what: &'static str) -> Result<&'a [u8], SpkiError> {
        let bytes = self.0;
        if bytes.first() != Some(&tag) {
            return Err(SpkiError::Malformed(what));
        }
        let (len, header) = match *bytes.get(1).ok_or(SpkiError::Malformed(what))? {
            short @ 0..=0x7f => (short as usize, 2),
            0x81..=0x84 => {
                let count = (bytes[1] & 0x7f) as usize;
                let len_bytes = bytes.get(2..2 + count).ok_or(SpkiError::Malformed(what))?;
                let len = len_bytes.iter().fold(0usize, |n, &b| (n << 8) | b as usize);
                (len, 2 + count)
            }
            _ => return Err(SpkiError::Malformed(what)),
        };
        let end = header.checked_add(len).ok_or(SpkiError::Malformed(what))?;
        let content = bytes.get(header..end).ok_or(SpkiError::Malformed(what))?;
        self.0 = &bytes[end..];
        Ok(content)
    }

    fn end(&self, what: &'static str) -> Result<(), SpkiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(SpkiError::Malformed(what))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(bits: usize) -> RsaPublicKey {
        let mut n = vec![0xc5u8; bits / 8];
        n[0] = 0xd1;
        RsaPublicKey {
            n,
            e: vec![1, 0, 1],
        }
    }

    #[test]
    fn spki_round_trips_and_checks() {
        let k = key(2048);
        let der = k.to_spki_der();
        assert_eq!(RsaPublicKey::from_spki_der(&der).unwrap(), k);
        assert_eq!(
            RsaPublicKey::from_spki_der(&key(1024).to_spki_der()),
            Err(SpkiError::TooShort(1024))
        );
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(RsaPublicKey::from_spki_der(&trailing).is_err());
        for cut in [0, 1, 5, 30, der.len() - 1] {
            assert!(RsaPublicKey::from_spki_der(&der[..cut]).is_err(), "{cut}");
        }
        // An EC key's algorithm (id-ecPublicKey) is refused as not RSA.
        let mut ec = der.clone();
        let at = ec
            .windows(RSA_ENCRYPTION.len())
            .position(|w| w == RSA_ENCRYPTION)
            .unwrap();
        ec[at..at + 7].copy_from_slice(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
        assert_eq!(RsaPublicKey::from_spki_der(&ec), Err(SpkiError::NotRsa));
    }
}
