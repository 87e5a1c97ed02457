import Foundation

extension CalibrationReport {
    /// Colors of threshold lines, by position in a tensor's `thresholds`.
    static let palette = ["#d9480f", "#1c7ed6", "#2f9e44", "#7048e8", "#c2255c", "#0c8599"]

    /// The report as one self-contained HTML document.
    public func html() -> String {
        var h = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8">
        <title>Calibration report: \(esc(summary.model))</title>
        <style>\(Self.css)</style></head><body>
        <h1>Calibration report</h1>

        """
        h += summaryHTML()
        h += decisionsHTML()
        h += layersHTML()
        h += tensorsHTML()
        h += "</body></html>\n"
        return h
    }

    private func summaryHTML() -> String {
        var cards: [(String, String, String)] = [
            ("Model", summary.model, ""), ("Precision", summary.precision, ""), ("Method", summary.method, ""),
        ]
        if let t = summary.target { cards.append(("Accuracy target", t, "")) }
        if let a = summary.achieved {
            let cls = summary.targetMet.map { $0 ? "ok" : "bad" } ?? ""
            let suffix = summary.targetMet.map { $0 ? " (met)" : " (missed)" } ?? ""
            cards.append(("Achieved", a + suffix, cls))
        }
        let fallbacks = decisions.filter { $0.precision.lowercased() != "int8" }.count
        cards.append(("Layers in float", "\(fallbacks) of \(decisions.count)", ""))
        cards.append(("Activation tensors", "\(tensors.count)", ""))
        for d in summary.details { cards.append((d.label, d.value, "")) }
        var h = "<div class=\"cards\">"
        for (k, v, cls) in cards {
            h += "<div class=\"card \(cls)\"><div class=\"k\">\(esc(k))</div><div class=\"v\">\(esc(v))</div></div>"
        }
        return h + "</div>\n"
    }

    private func decisionsHTML() -> String {
        var h = "<h2>Precision decisions</h2>\n"
        guard !decisions.isEmpty else { return h + "<p class=\"none\">No per-layer decisions recorded.</p>\n" }
        h += "<table><thead><tr><th>Layer</th><th>Precision</th><th>Reason</th></tr></thead><tbody>"
        for d in decisions {
            let cls = d.precision.lowercased() == "int8" ? "" : " class=\"fb\""
            h += "<tr\(cls)><td class=\"mono\">\(esc(d.layer))</td><td>\(esc(d.precision))</td><td>\(esc(d.reason))</td></tr>"
        }
        return h + "</tbody></table>\n"
    }

    private func layersHTML() -> String {
        var h = "<h2>Per-layer sensitivity (only that layer quantized)</h2>\n"
        guard !layers.isEmpty else { return h + "<p class=\"none\">No per-layer measurements recorded.</p>\n" }
        let floatSet = Set(decisions.filter { $0.precision.lowercased() != "int8" }.map(\.layer))
        h += "<div class=\"charts\">"
        let sq = layers.map { l in (l.layer, l.sqnr.map { $0 }) }
        h += barChart(title: "SQNR (dB, longer is better)", rows: sq, floatSet: floatSet,
                      value: { $0 }, label: { $0.isInfinite ? "∞" : fmt($0, 3) })
        let cs = layers.map { l in (l.layer, l.cosine) }
        h += barChart(title: "Cosine to FP32 (bar: number of nines, −log10(1−cos))", rows: cs, floatSet: floatSet,
                      value: { -log10(Swift.max(1 - $0, 1e-9)) }, label: { fmt($0, 6) })
        h += "</div><p class=\"note\">Bars of layers kept in float are grey.</p>\n"
        return h
    }

    private func barChart(title: String, rows: [(String, Double?)], floatSet: Set<String>,
                          value: (Double) -> Double, label: (Double) -> String) -> String {
        let rowH = 18.0, nameW = 210.0, barW = 300.0, valueW = 70.0
        let width = nameW + barW + valueW, height = Double(rows.count) * rowH + 28
        let vals = rows.map { $0.1.map(value) }
        let finite = vals.compactMap { $0 }.filter { $0.isFinite }
        let top = Swift.max(finite.max() ?? 1, 1e-9)
        var s = "<figure><figcaption>\(esc(title))</figcaption>"
        s += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
        s += "viewBox=\"0 0 \(Int(width)) \(Int(height))\">"
        for (i, row) in rows.enumerated() {
            let y = Double(i) * rowH + 4
            let name = row.0.count > 30 ? String(row.0.prefix(29)) + "…" : row.0
            s += "<text x=\"\(Int(nameW - 6))\" y=\"\(fmt(y + 13, 4))\" text-anchor=\"end\" class=\"ln\">"
            s += "<title>\(esc(row.0))</title>\(esc(name))</text>"
            guard let raw = row.1, let v = vals[i] else {
                s += "<text x=\"\(Int(nameW + 4))\" y=\"\(fmt(y + 13, 4))\" class=\"lv\">n/a</text>"
                continue
            }
            let frac = v.isInfinite ? 1 : Swift.min(Swift.max(v / top, 0), 1)
            let color = floatSet.contains(row.0) ? "#adb5bd" : (frac < 0.5 ? "#f08c00" : "#1c7ed6")
            s += "<rect x=\"\(Int(nameW))\" y=\"\(fmt(y + 2, 4))\" width=\"\(fmt(Swift.max(frac * barW, 1), 4))\" "
            s += "height=\"\(Int(rowH - 5))\" fill=\"\(color)\"/>"
            s += "<text x=\"\(fmt(nameW + frac * barW + 4, 4))\" y=\"\(fmt(y + 13, 4))\" class=\"lv\">\(esc(label(raw)))</text>"
        }
        let axisY = Double(rows.count) * rowH + 8
        s += "<line x1=\"\(Int(nameW))\" y1=\"4\" x2=\"\(Int(nameW))\" y2=\"\(fmt(axisY, 4))\" class=\"axis\"/>"
        s += "<text x=\"\(Int(nameW))\" y=\"\(fmt(axisY + 14, 4))\" class=\"tick\">0</text>"
        s += "<text x=\"\(Int(nameW + barW))\" y=\"\(fmt(axisY + 14, 4))\" text-anchor=\"end\" class=\"tick\">\(fmt(top, 3))</text>"
        return s + "</svg></figure>"
    }

    private func tensorsHTML() -> String {
        var h = "<h2>Activation histograms (|x|, log-scale counts)</h2>\n"
        guard !tensors.isEmpty else { return h + "<p class=\"none\">No activation tensors recorded.</p>\n" }
        h += "<div class=\"grid\">"
        for t in tensors { h += tensorCard(t) }
        return h + "</div>\n"
    }

    private func tensorCard(_ t: TensorEntry) -> String {
        var h = "<div class=\"tcard\"><div class=\"tname mono\">\(esc(t.name))</div>"
        if let hist = t.histogram {
            h += histogramSVG(hist, t)
        } else {
            h += "<p class=\"none\">No histogram (scales read from a cache).</p>"
        }
        h += "<div class=\"legend\">"
        for (i, th) in t.thresholds.enumerated() {
            let chosen = th.label == t.chosenLabel
            h += "<span class=\"\(chosen ? "chosen" : "")\"><i style=\"background:\(Self.palette[i % Self.palette.count])\"></i>"
            h += "\(esc(th.label)) \(fmt(Double(th.value), 4))\(chosen ? " ✔" : "")</span>"
        }
        h += "<span>scale \(fmt(Double(t.scale), 4))</span>"
        if let m = t.histogram?.max { h += "<span>max \(fmt(Double(m), 4))</span>" }
        return h + "</div></div>"
    }

    private func histogramSVG(_ hist: TensorHistogram, _ t: TensorEntry) -> String {
        let w = 520.0, ph = 150.0, left = 34.0, top = 8.0, cols = 512
        let per = TensorHistogram.binCount / cols
        var sums = [Double](repeating: 0, count: cols)
        for b in 0..<TensorHistogram.binCount { sums[b / per] += Double(hist.bins[b]) }
        let peak = log10(1 + (sums.max() ?? 0))
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(left + w + 6))\" height=\"\(Int(top + ph + 22))\">"
        s += "<rect x=\"\(Int(left))\" y=\"\(Int(top))\" width=\"\(Int(w))\" height=\"\(Int(ph))\" class=\"plot\"/>"
        // Decades of the log axis.
        if peak > 0 {
            var d = 0
            while Double(d) <= peak {
                let y = top + ph - Double(d) / peak * ph
                s += "<line x1=\"\(Int(left))\" y1=\"\(fmt(y, 4))\" x2=\"\(Int(left + w))\" y2=\"\(fmt(y, 4))\" class=\"grid\"/>"
                s += "<text x=\"\(Int(left - 3))\" y=\"\(fmt(y + 3, 4))\" text-anchor=\"end\" class=\"tick\">1e\(d)</text>"
                d += Swift.max(1, Int(peak / 4))
            }
            var path = "M\(Int(left)),\(Int(top + ph))"
            let cw = w / Double(cols)
            for (i, c) in sums.enumerated() {
                let y = top + ph - log10(1 + c) / peak * ph
                path += " L\(fmt(left + Double(i) * cw, 5)),\(fmt(y, 5)) L\(fmt(left + Double(i + 1) * cw, 5)),\(fmt(y, 5))"
            }
            path += " L\(Int(left + w)),\(Int(top + ph)) Z"
            s += "<path d=\"\(path)\" class=\"hist\"/>"
        }
        if hist.max > 0 {
            let xOf = { (v: Float) -> Double in left + Swift.min(Double(v) / Double(hist.max), 1) * w }
            for (i, th) in t.thresholds.enumerated() where th.label != t.chosenLabel {
                let x = xOf(th.value)
                s += "<line x1=\"\(fmt(x, 5))\" y1=\"\(Int(top))\" x2=\"\(fmt(x, 5))\" y2=\"\(Int(top + ph))\" "
                s += "stroke=\"\(Self.palette[i % Self.palette.count])\" stroke-width=\"1.5\" stroke-dasharray=\"5,3\">"
                s += "<title>\(esc(th.label)) \(fmt(Double(th.value), 5))</title></line>"
            }
            let ci = t.thresholds.firstIndex { $0.label == t.chosenLabel }
            let cc = ci.map { Self.palette[$0 % Self.palette.count] } ?? "#000"
            let x = xOf(t.chosen)
            s += "<line x1=\"\(fmt(x, 5))\" y1=\"\(Int(top))\" x2=\"\(fmt(x, 5))\" y2=\"\(Int(top + ph))\" "
            s += "stroke=\"\(cc)\" stroke-width=\"3\"><title>chosen: \(esc(t.chosenLabel)) \(fmt(Double(t.chosen), 5))</title></line>"
            s += "<text x=\"\(fmt(Swift.min(x + 3, left + w - 40), 5))\" y=\"\(Int(top + 11))\" class=\"clabel\">chosen</text>"
        }
        let by = top + ph + 14
        s += "<text x=\"\(Int(left))\" y=\"\(fmt(by, 4))\" class=\"tick\">0</text>"
        s += "<text x=\"\(Int(left + w / 2))\" y=\"\(fmt(by, 4))\" text-anchor=\"middle\" class=\"tick\">\(fmt(Double(hist.max) / 2, 3))</text>"
        s += "<text x=\"\(Int(left + w))\" y=\"\(fmt(by, 4))\" text-anchor=\"end\" class=\"tick\">\(fmt(Double(hist.max), 4)) = max</text>"
        return s + "</svg>"
    }

    private func fmt(_ x: Double, _ digits: Int) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x > 0 ? "∞" : "-∞" }
        return String(format: "%.\(digits)g", x)
    }

    private func esc(_ s: String) -> String {
        var o = ""
        for c in s {
            switch c {
            case "&": o += "&amp;"
            case "<": o += "&lt;"
            case ">": o += "&gt;"
            case "\"": o += "&quot;"
            case "'": o += "&#39;"
            default: o.append(c)
            }
        }
        return o
    }

    static let css = """
    body{font:14px/1.4 -apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:24px;color:#212529;background:#fff}
    h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:26px 0 8px;border-bottom:1px solid #dee2e6;padding-bottom:4px}
    .mono{font-family:'DejaVu Sans Mono',Menlo,Consolas,monospace}
    .cards{display:flex;flex-wrap:wrap;gap:8px}.card{border:1px solid #dee2e6;border-radius:6px;padding:6px 10px;min-width:120px}
    .card .k{font-size:11px;color:#868e96;text-transform:uppercase;letter-spacing:.04em}.card .v{font-weight:600;word-break:break-all}
    .card.ok{border-color:#2f9e44;background:#ebfbee}.card.bad{border-color:#e03131;background:#fff5f5}
    table{border-collapse:collapse}th,td{border:1px solid #dee2e6;padding:3px 8px;text-align:left;vertical-align:top}
    th{background:#f1f3f5}tr.fb td{background:#fff9db}
    .charts{display:flex;flex-wrap:wrap;gap:24px}figure{margin:0}figcaption{font-weight:600;margin-bottom:4px}
    .grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(570px,1fr));gap:12px}
    .tcard{border:1px solid #dee2e6;border-radius:6px;padding:8px}.tname{font-weight:600;margin-bottom:4px;word-break:break-all}
    .legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin-top:2px}
    .legend i{display:inline-block;width:12px;height:3px;margin-right:4px;vertical-align:middle}
    .legend .chosen{font-weight:700}.none,.note{color:#868e96;font-size:12px}
    svg text{font-size:11px;fill:#495057}svg .ln{font-family:'DejaVu Sans Mono',Menlo,monospace;font-size:10.5px}
    svg .tick{font-size:10px;fill:#868e96}svg .clabel{font-size:10px;font-weight:700;fill:#212529}
    svg .plot{fill:#f8f9fa;stroke:#ced4da}svg .grid{stroke:#e9ecef}svg .axis{stroke:#adb5bd}
    svg .hist{fill:#74c0fc;stroke:#1971c2;stroke-width:.6}
    """
}
