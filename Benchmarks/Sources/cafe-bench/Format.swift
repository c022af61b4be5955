/// `value` with `digits` decimals, right-aligned in `width` characters.
func fixed(_ value: Double, _ digits: Int, width: Int = 0) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int((value * scale).rounded())
    var text = String(scaled / Int(scale))
    if digits > 0 {
        let fraction = String(abs(scaled) % Int(scale))
        text += "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }
    return String(repeating: " ", count: max(0, width - text.count)) + text
}
