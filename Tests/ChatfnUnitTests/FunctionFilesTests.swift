import Functions
import Testing

@Suite("Function files")
struct FunctionFilesTests {
    @Test("local imports are found in require, import and dynamic import; packages are not local")
    func localImports() {
        for source in ["const u = require('./lib/u');", "import { a } from \"../shared\";", "import './setup';", "const m = await import('./lib/m.js');"] {
            #expect(FunctionFiles.importsLocalFiles(source), "\(source)")
        }
        for source in ["const pad = require('left-pad');", "import fetch from 'node-fetch';", "// ./lib is mentioned in a comment only"] {
            #expect(!FunctionFiles.importsLocalFiles(source), "\(source)")
        }
    }

    @Test("a near miss of a known trigger suggests it; an undotted name says where helpers go; a custom dotted type is fine")
    func nameWarnings() {
        #expect(FunctionFiles.nameWarning("user.recieved.notification")?.contains("did you mean user.received.notification?") == true)
        #expect(FunctionFiles.nameWarning("user.sent.mesage")?.contains("did you mean user.sent.message?") == true)
        #expect(FunctionFiles.nameWarning("helpers")?.contains("functions/lib/") == true)
        #expect(FunctionFiles.nameWarning("user.received.notification") == nil)
        #expect(FunctionFiles.nameWarning("order.shipped") == nil)
    }
}
