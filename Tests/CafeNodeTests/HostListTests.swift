import CafeNode
import Testing

@Suite("host lists")
struct HostListTests {
    @Test("hosts that differ in a trailing number fold into ranges, padding kept; others stay", arguments: [
        (["web01", "web02", "web03", "web07"], "web[01-03,07]"),
        (["web3", "web1", "web2"], "web[1-3]"),
        (["web9", "web10", "web11"], "web9,web[10-11]"),
        (["db1", "web01", "web02", "jlore"], "db1,jlore,web[01-02]"),
        (["a1", "a1", "a2"], "a[1-2]"),
        (["monk1"], "monk1"),
        (["42", "43"], "42,43"),
        (["rack1-n1", "rack1-n2", "rack2-n1"], "rack1-n[1-2],rack2-n1"),
    ])
    func compact(_ hosts: [String], _ expected: String) {
        #expect(HostList.compact(hosts) == expected)
    }
}
