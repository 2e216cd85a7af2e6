#!/usr/bin/python3
"""Writes tests/rtp/aiortc_vectors.hpp: RTP and RTCP packets serialized by aiortc (Debian's
python3-aiortc 1.4, an independent implementation), with the field values aiortc was given.
test_rtp parses each packet and checks those fields, and rebuilds the canonical ones with our
builders to compare bytes. Run with the system python: /usr/bin/python3 make_aiortc_vectors.py
"""
import pathlib

from aiortc import rtp
from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters, RTCRtpParameters

OUT = pathlib.Path(__file__).with_name("aiortc_vectors.hpp")


def hexs(data: bytes) -> str:
    return '"' + data.hex() + '"'


def ext_map(ids):
    uris = {
        "mid": "urn:ietf:params:rtp-hdrext:sdes:mid",
        "rid": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id",
        "abs": "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time",
        "level": "urn:ietf:params:rtp-hdrext:ssrc-audio-level",
        "tcc": "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01",
    }
    params = RTCRtpParameters(
        headerExtensions=[RTCRtpHeaderExtensionParameters(id=i, uri=uris[k]) for k, i in ids.items()]
    )
    m = rtp.HeaderExtensionsMap()
    m.configure(params)
    return m


def rtp_vectors():
    out = []

    def add(name, pkt, m, exts, canonical=True):
        data = pkt.serialize(m)
        # the elements in the order aiortc writes them (HeaderExtensionsMap.set's order)
        ext_list = ", ".join("{%d, %s}" % (i, hexs(v)) for i, v in exts)
        csrcs = ", ".join(str(c) for c in pkt.csrc)
        out.append(
            '    {"%s", %s, %d, %s, %du, %du, %du, {%s}, {%s}, %s, %d, %s},'
            % (name, hexs(data), pkt.payload_type, "true" if pkt.marker else "false", pkt.sequence_number,
               pkt.timestamp, pkt.ssrc, csrcs, ext_list, hexs(pkt.payload), pkt.padding_size,
               "true" if canonical else "false")
        )

    m = ext_map({"level": 1, "abs": 2, "tcc": 3, "mid": 4})
    p = rtp.RtpPacket(payload_type=111, marker=1, sequence_number=4660, timestamp=0x12345678, ssrc=0xDEADBEEF,
                      payload=b"\x01\x02\x03\x04\x05")
    add("plain", p, rtp.HeaderExtensionsMap(), [])
    p = rtp.RtpPacket(payload_type=96, marker=0, sequence_number=65535, timestamp=90000, ssrc=1, payload=b"vp8!" * 10)
    p.extensions.mid = "0"
    p.extensions.abs_send_time = 0x123456
    p.extensions.audio_level = (True, 42)
    p.extensions.transport_sequence_number = 513
    add("one-byte extensions", p, m, [(4, b"0"), (2, bytes.fromhex("123456")), (1, bytes([0x80 | 42])), (3, bytes.fromhex("0201"))])
    p = rtp.RtpPacket(payload_type=100, sequence_number=7, timestamp=3, ssrc=0x11223344, payload=b"x")
    p.csrc = [0xAABBCCDD, 0x01020304]
    p.extensions.mid = "a-long-mid-value-of-20"
    add("two-byte long value and CSRCs", p, m, [(4, b"a-long-mid-value-of-20")])
    m2 = ext_map({"mid": 15, "tcc": 200})
    p = rtp.RtpPacket(payload_type=97, sequence_number=1000, timestamp=1, ssrc=2, payload=b"")
    p.extensions.mid = "1"
    p.extensions.transport_sequence_number = 65535
    add("two-byte ids 15 and 200, empty payload", p, m2, [(15, b"1"), (200, bytes.fromhex("ffff"))])
    p = rtp.RtpPacket(payload_type=0, sequence_number=1, timestamp=160, ssrc=3, payload=b"\xff" * 160)
    p.padding_size = 4
    add("padding", p, rtp.HeaderExtensionsMap(), [], canonical=False)  # aiortc pads with random bytes
    return out


def report(r):
    return "{%du, %d, %d, %du, %du, %du, %du}" % (r.ssrc, r.fraction_lost, r.packets_lost, r.highest_sequence,
                                                   r.jitter, r.lsr, r.dlsr)


def rtcp_vectors():
    blocks = [
        rtp.RtcpReceiverInfo(ssrc=0x01020304, fraction_lost=25, packets_lost=-3, highest_sequence=70000,
                             jitter=123, lsr=0xAABBCCDD, dlsr=65536),
        rtp.RtcpReceiverInfo(ssrc=5, fraction_lost=255, packets_lost=(1 << 23) - 1, highest_sequence=1,
                             jitter=0, lsr=0, dlsr=0),
    ]
    srs = []
    for n in (0, 1, 2):
        sr = rtp.RtcpSrPacket(ssrc=0x1234, sender_info=rtp.RtcpSenderInfo(
            ntp_timestamp=0xE3F1A2B3C4D5E6F7, rtp_timestamp=90000 * n, packet_count=100 + n, octet_count=120000),
            reports=blocks[:n])
        srs.append('    {%s, 0x1234u, 0xE3F1A2B3C4D5E6F7ull, %du, %du, 120000u, {%s}},'
                   % (hexs(bytes(sr)), 90000 * n, 100 + n, ", ".join(report(b) for b in blocks[:n])))
    rrs = []
    for n in (0, 2):
        rr = rtp.RtcpRrPacket(ssrc=0x99, reports=blocks[:n])
        rrs.append('    {%s, 0x99u, {%s}},' % (hexs(bytes(rr)), ", ".join(report(b) for b in blocks[:n])))
    sdes = []
    for cname in ("a", "{9c2d6b5a-cname}", "seventeen-bytes-x", "user@host.example"):
        s = rtp.RtcpSdesPacket(chunks=[rtp.RtcpSourceInfo(ssrc=0x4321, items=[(1, cname.encode())])])
        sdes.append('    {%s, 0x4321u, "%s"},' % (hexs(bytes(s)), cname))
    byes = []
    for sources in ([7], [1, 2, 3]):
        b = rtp.RtcpByePacket(sources=sources)
        byes.append('    {%s, {%s}},' % (hexs(bytes(b)), ", ".join("%du" % s for s in sources)))
    nacks = []
    for lost in ([100], [100, 101, 116], [100, 117, 118, 200], [1, 3, 5, 7, 9, 11, 13, 15, 17]):
        n = rtp.RtcpRtpfbPacket(fmt=1, ssrc=0xA, media_ssrc=0xB, lost=lost)
        nacks.append('    {%s, 0xAu, 0xBu, {%s}},' % (hexs(bytes(n)), ", ".join(str(x) for x in lost)))
    pli = rtp.RtcpPsfbPacket(fmt=1, ssrc=0xC, media_ssrc=0xD)
    rembs = []
    for bitrate, ssrcs in ((300000, [0xD]), (2500000, [1, 2]), (0x3FFFF, [])):
        r = rtp.RtcpPsfbPacket(fmt=15, ssrc=0xC, media_ssrc=0, fci=rtp.pack_remb_fci(bitrate, ssrcs))
        exp_bitrate, _ = rtp.unpack_remb_fci(r.fci)
        rembs.append('    {%s, 0xCu, %du, {%s}},' % (hexs(bytes(r)), exp_bitrate, ", ".join("%du" % s for s in ssrcs)))
    # a compound as aiortc's RTCRtpSender sends it: SR + SDES CNAME
    compound = bytes(rtp.RtcpSrPacket(ssrc=0x1234, sender_info=rtp.RtcpSenderInfo(
        ntp_timestamp=1, rtp_timestamp=2, packet_count=3, octet_count=4))) + bytes(
        rtp.RtcpSdesPacket(chunks=[rtp.RtcpSourceInfo(ssrc=0x1234, items=[(1, b"{cname}")])]))
    assert len(rtp.RtcpPacket.parse(compound)) == 2
    return srs, rrs, sdes, byes, nacks, hexs(bytes(pli)), rembs, hexs(compound)


def main():
    rv = rtp_vectors()
    srs, rrs, sdes, byes, nacks, pli, rembs, compound = rtcp_vectors()
    text = f"""// Generated by tests/rtp/make_aiortc_vectors.py from aiortc 1.4 (Debian python3-aiortc): do not edit.
// Each packet is aiortc's serialization of the fields beside it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace aiortc_vectors {{

struct extension {{ int id; std::string_view value_hex; }};
struct rtp_packet {{
    std::string_view name, hex;
    int payload_type; bool marker; std::uint16_t sequence; std::uint32_t timestamp, ssrc;
    std::vector<std::uint32_t> csrcs; std::vector<extension> extensions;
    std::string_view payload_hex; int padding; bool canonical;
}};
struct block {{ std::uint32_t ssrc; int fraction_lost; std::int32_t lost; std::uint32_t highest, jitter, lsr, dlsr; }};
struct sr {{ std::string_view hex; std::uint32_t ssrc; std::uint64_t ntp; std::uint32_t rtp_ts, packets, octets; std::vector<block> blocks; }};
struct rr {{ std::string_view hex; std::uint32_t ssrc; std::vector<block> blocks; }};
struct sdes {{ std::string_view hex; std::uint32_t ssrc; std::string_view cname; }};
struct bye {{ std::string_view hex; std::vector<std::uint32_t> ssrcs; }};
struct nack {{ std::string_view hex; std::uint32_t sender, media; std::vector<std::uint16_t> lost; }};
struct remb {{ std::string_view hex; std::uint32_t sender; std::uint64_t bitrate; std::vector<std::uint32_t> ssrcs; }};

inline const std::vector<rtp_packet> rtp_packets = {{
{chr(10).join(rv)}
}};
inline const std::vector<sr> sender_reports = {{
{chr(10).join(srs)}
}};
inline const std::vector<rr> receiver_reports = {{
{chr(10).join(rrs)}
}};
inline const std::vector<sdes> sdes_packets = {{
{chr(10).join(sdes)}
}};
inline const std::vector<bye> bye_packets = {{
{chr(10).join(byes)}
}};
inline const std::vector<nack> nack_packets = {{
{chr(10).join(nacks)}
}};
inline constexpr std::string_view pli_hex = {pli};  // sender 0xC, media 0xD
inline const std::vector<remb> remb_packets = {{
{chr(10).join(rembs)}
}};
inline constexpr std::string_view sr_sdes_compound_hex = {compound};  // SR 0x1234 (1, 2, 3, 4) + CNAME "{{cname}}"

}}  // namespace aiortc_vectors
"""
    OUT.write_text(text)


if __name__ == "__main__":
    main()
