// Captured from the emitters as they were before the YAML coders were unified (commit c3deaa1).
// Do not edit: these bytes are signed, and files written by older versions must keep verifying.

enum YAMLGoldenText {
    /// The text of each sample, by name; a signed executed file is the executed file and its
    /// signature line.
    static var text: [String: String] {
        var text = unsigned
        text["signed-executed-batch"] = unsigned["executed-batch"].map {
            $0 + "signature: executed-batch jlore Lb49Cuh1wOej4JiPLyzZpZs7qm1sHUO2CdF+IbK7RxYXcGALJhRERv6PVK0W5xbS+qbtOMp9lPlj64UoXrfJBA==\n"
        }
        return text
    }

    private static let unsigned: [String: String] = [
        "command-entry": #"""
command-entry: 1
commands:
  - run: /usr/bin/blahh
  - argv: [/usr/sbin/useradd, '-m', '{{username}}']
timeout: 12.500
output-cap: 4096

"""#,
        "envelope-ack-accepted": #"""
envelope: 1
kind: ack
id: '20261129-153012-345-00112233aabbccdd'
origin: jlore
sender: jlore
target: monk1
created: '2026-11-29T15:30:12.345Z'
expires: '2026-11-29T16:30:12.345Z'
body:
  acks: '20261129-153012-302-0000000000000001'
  status: accepted
signature: ack jlore 7BEx1dFHRcwW+otCouX+j/x1qMPu/8r7afKQDtB+cQGg8Hd8S3mWd+VhQBvAfdvr7BKUD7Dvsp7qKHPKXEnCAQ==

"""#,
        "envelope-ack-refused": #"""
envelope: 1
kind: ack
id: '20261129-153012-345-00112233aabbccdd'
origin: jlore
sender: jlore
target: monk1
created: '2026-11-29T15:30:12.345Z'
expires: '2026-11-29T16:30:12.345Z'
body:
  acks: x1
  status: refused
  code: plan-mismatch
  reason: 'the entry changed: ''x'''
signature: ack jlore 53QSgtzbyv5uY+diQmvW037NrxjyM/dGrNA2RPnBBZantFoDGY+ZFKDmLwGzb1R2MIZ1szhVaSC0/OWK87SWDg==

"""#,
        "envelope-forward": #"""
envelope: 1
kind: forward
id: '20261129-153012-345-00112233aabbccdd'
origin: jlore
sender: jlore
target: monk1
created: '2026-11-29T15:30:12.345Z'
expires: '2026-11-29T16:30:12.345Z'
body:
  path: [jlore, monk1]
  envelope: |
    envelope: 1
    kind: request
    signature: request jlore AAAA
signature: forward jlore jZ4LQvZxJ4gA3oK5a1+l++VbUc50Sep2gt4TSeJz0FIkUtrSfxPawpsb/MCbMJT7BdnLGaaY1D+2S7l0N4iSBw==

"""#,
        "envelope-plan-answer": #"""
envelope: 1
kind: plan-answer
id: '20261129-153012-345-00112233aabbccdd'
origin: jlore
sender: jlore
target: monk1
created: '2026-11-29T15:30:12.345Z'
expires: '2026-11-29T16:30:12.345Z'
body:
  plan: '20261129-153012-301-9f2c1a7be301'
  index: 0
  request: activate_dialup
  answers: x2
  host: monk1
  state: ok
  message: would run
  command-digest: 'sha256:abababababababababababababababababababababababababababababababab'
  commands: [/usr/bin/blahh, /usr/sbin/useradd -m cranky, 'echo ''a b''']
signature: plan-answer jlore iNatzvRRUdeyyR6yD6XoQIu4xDStTmuGB2dTxbCaAHWRePZYqN4hB/NE2cBALoJ+sbBtzpLSMMjSdVH+NkdTCQ==

"""#,
        "envelope-plan-request": #"""
envelope: 1
kind: plan-request
id: '20261129-153012-345-00112233aabbccdd'
origin: jlore
sender: jlore
target: monk1
created: '2026-11-29T15:30:12.345Z'
expires: '2026-11-29T16:30:12.345Z'
body:
  plan: '20261129-153012-301-9f2c1a7be301'
  batch-name: p
  index: 0
  request: activate_dialup
  data:
    username: cranky
    shell: /bin/bash
    empty: ''
    multi: |
      a
      b
    quote: 'it''s "x"'
  secret-keys: [pw, token]
signature: plan-request jlore OB79DmUHpUBNtgk2jDXktRzk06Eq/b+jUS67F2Fn5BnxJMLLe7/LwrT40Cb+1UY5C57atl6ITZHAKUTY9GW6Dw==

"""#,
        "envelope-request-minimal": #"""
envelope: 1
kind: request
id: '20261129-153012-345-00112233aabbccdd'
origin: jlore
sender: jlore
target: monk1
created: '2026-11-29T15:30:12.345Z'
expires: '2026-11-29T16:30:12.345Z'
body:
  batch: '20261129-153012-301-9f2c1a7be301'
  batch-name: b
  index: 0
  request: r
signature: request jlore QeeKbG6ju1VyVZtzi7t3PH024sUXjgKwOOhwqUIBpyaE4umhJZVRarS2Yc+5o2J2Gb1SBWI4FgbdhCDYxSmOAw==

"""#,
        "envelope-request": #"""
envelope: 1
kind: request
id: '20261129-153012-345-00112233aabbccdd'
origin: jlore
sender: jlore
target: monk1
created: '2026-11-29T15:30:12.345Z'
expires: '2026-11-29T16:30:12.345Z'
body:
  batch: '20261129-153012-301-9f2c1a7be301'
  batch-name: 'provision: "x"'
  index: 1
  request: activate_dialup
  data:
    username: cranky
    shell: /bin/bash
    empty: ''
    multi: |
      a
      b
    quote: 'it''s "x"'
  secrets:
    pw: 'sealed:AAAA'
    token: 'sealed:BBBB'
  commands:
    - run: uptime
    - argv: [/bin/echo, '{{username}}']
  answer-by: '2026-11-29T15:31:12.345Z'
  delegation: |
    envelope: 1
    kind: request
    signature: request jlore AAAA
  only: ['.', b2, gw2/b5]
  plan-digest: 'sha256:abababababababababababababababababababababababababababababababab'
signature: request jlore GyG6DdvBeo5CfUrNPoL0XBRF+dSb/lkZVR21lFzy9G+fJ2XcjIjUjZgZKec0cKKm1Ulx74v9vZM40LMe3uvyDg==

"""#,
        "envelope-result": #"""
envelope: 1
kind: result
id: '20261129-153012-345-00112233aabbccdd'
origin: jlore
sender: jlore
target: monk1
created: '2026-11-29T15:30:12.345Z'
expires: '2026-11-29T16:30:12.345Z'
body:
  batch: '20261129-153012-301-9f2c1a7be301'
  index: 1
  request: activate_dialup
  answers: '20261129-153012-302-0000000000000001'
  host: gw1
  state: ok
  message: |-
    fanned out: 2 of 2 ok
    second line
  command-digest: 'sha256:abababababababababababababababababababababababababababababababab'
  commands:
    - argv: [/usr/sbin/useradd, '-m', '--', '{{username:operand}}']
      exit: 0
      start: '2026-11-29T15:30:12.345Z'
      duration: 0.004
      stdout: |+
        line one
          indented two
        	tabbed

      stderr: ''
    - run: 'echo ''it''''s'' "quoted" | tr a-z A-Z  # comment: yes'
      exit: 3
      timed-out-after: 2.500
      start: '2026-11-29T15:30:12.595Z'
      duration: 2.500
      stdout: no newline at end
      stdout-truncated: true
      stdout-dropped: 1234
      stderr: "bell \x07 nul \0 del \x7F ls \u2028 bom \uFEFF é ✓\r\n"
      note: stopped reading output 0.500 s after the command exited
    - run: 'kill -9 $$'
      signal: SIGKILL
      start: '2026-11-29T15:30:12.345Z'
      duration: 0.001
      stdout-base64: //4AQQ==
      stderr: ''
    - argv: [no-such-program, 'yes', 'on', '~', 'null', '- dash', 'a: b', '#hash', '@at', ' lead', 'trail ']
      not-started: No such file or directory
      start: '2026-11-29T15:30:12.345Z'
      duration: 0.000
      stdout: ''
      stderr: ''
    - run: 'printf ''\n\n'''
      exit: 0
      start: '2026-11-29T15:30:12.345Z'
      duration: 1234.568
      stdout: "\n\n"
      stderr: |+
        x


  leaves:
    - host: b2
      state: failed
      note: no answer within 30 s
    - host: b3
      state: ok
      result: |
        envelope: 1
        kind: result
        signature: result b3 AAAA
  leaf-groups:
    - [canary1]
    - hosts: [web1, web2, web3]
      batch: '25%'
      max-failures: '1'
      pause: 30.000
      check: web_health
    - hosts: [db1]
      batch: '1'
      max-failures: '12.5%'
      pause: 0.125
  leaf-checks:
    - group: 1
      request: web_health
      index: 2
      hosts:
        - host: web1
          state: ok
signature: result jlore fKzy7B6NagZsQBq18KZ57F45IccCE/dK+9EnlF+vaw63YGP3CjO6IQtMq3zTMaMdGeUvTaNMb7HcvUTUwhI7Bg==

"""#,
        "executed-batch": #"""
# CafeBatch executed batch file. Each host's result is signed by that host;
# check every signature with: cafe verify THIS_FILE
batch: '20261129-153012-301-9f2c1a7be301'
name: 'Whatever I want: "odd" #1'
origin: jlore
state: error
created: '2026-11-29T15:30:12.345Z'
finished: '2026-11-29T15:30:24.845Z'
cancelled: '2026-11-29T15:30:22.345Z'
requests:
  - name: activate_dialup
    data:
      username: cranky
      shell: /bin/bash
      empty: ''
      multi: |
        a
        b
      quote: 'it''s "x"'
    secrets: [pw, token]
    groups:
      - [canary1]
      - hosts: [web1, web2, web3]
        batch: '25%'
        max-failures: '1'
        pause: 30.000
        check: web_health
      - hosts: [db1]
        batch: '1'
        max-failures: '12.5%'
        pause: 0.125
    only:
      db1: ['.']
      gw1: ['.', b2]
    planned:
      db1: 'sha256:abababababababababababababababababababababababababababababababab'
      gw1: 'sha256:abababababababababababababababababababababababababababababababab'
    state: ok
    hosts:
      - host: canary1
        state: ok
        result: |
          envelope: 1
          kind: result
          body:
            host: canary1
          signature: result canary1 QUJD
      - host: gw1
        state: ok
        unsigned-result:
          host: gw1
          state: ok
          message: |-
            fanned out: 2 of 2 ok
            second line
          command-digest: 'sha256:abababababababababababababababababababababababababababababababab'
          commands:
            - argv: [/usr/sbin/useradd, '-m', '--', '{{username:operand}}']
              exit: 0
              start: '2026-11-29T15:30:12.345Z'
              duration: 0.004
              stdout: |+
                line one
                  indented two
                	tabbed

              stderr: ''
            - run: 'echo ''it''''s'' "quoted" | tr a-z A-Z  # comment: yes'
              exit: 3
              timed-out-after: 2.500
              start: '2026-11-29T15:30:12.595Z'
              duration: 2.500
              stdout: no newline at end
              stdout-truncated: true
              stdout-dropped: 1234
              stderr: "bell \x07 nul \0 del \x7F ls \u2028 bom \uFEFF é ✓\r\n"
              note: stopped reading output 0.500 s after the command exited
            - run: 'kill -9 $$'
              signal: SIGKILL
              start: '2026-11-29T15:30:12.345Z'
              duration: 0.001
              stdout-base64: //4AQQ==
              stderr: ''
            - argv: [no-such-program, 'yes', 'on', '~', 'null', '- dash', 'a: b', '#hash', '@at', ' lead', 'trail ']
              not-started: No such file or directory
              start: '2026-11-29T15:30:12.345Z'
              duration: 0.000
              stdout: ''
              stderr: ''
            - run: 'printf ''\n\n'''
              exit: 0
              start: '2026-11-29T15:30:12.345Z'
              duration: 1234.568
              stdout: "\n\n"
              stderr: |+
                x


          leaves:
            - host: b2
              state: failed
              note: no answer within 30 s
            - host: b3
              state: ok
              result: |
                envelope: 1
                kind: result
                signature: result b3 AAAA
          leaf-groups:
            - [canary1]
            - hosts: [web1, web2, web3]
              batch: '25%'
              max-failures: '1'
              pause: 30.000
              check: web_health
            - hosts: [db1]
              batch: '1'
              max-failures: '12.5%'
              pause: 0.125
          leaf-checks:
            - group: 1
              request: web_health
              index: 2
              hosts:
                - host: web1
                  state: ok
      - host: web1
        state: no-answer
        note: no answer within 30 s
    checks:
      - group: 1
        request: web_health
        index: 2
        hosts:
          - host: web1
            state: ok
  - name: adhoc
    commands:
      - run: 'uptime && df -h'
      - argv: [/bin/echo, hello world, '{{x}}']
    state: failed
    note: 'stopped: ''quoted'' note'
    hosts:
      - host: jlore
        state: failed
        unsigned-result:
          host: jlore
          state: failed
          commands:
            - argv: [/usr/sbin/useradd, '-m', '--', '{{username:operand}}']
              exit: 0
              start: '2026-11-29T15:30:12.345Z'
              duration: 0.004
              stdout: |+
                line one
                  indented two
                	tabbed

              stderr: ''
            - run: 'echo ''it''''s'' "quoted" | tr a-z A-Z  # comment: yes'
              exit: 3
              timed-out-after: 2.500
              start: '2026-11-29T15:30:12.595Z'
              duration: 2.500
              stdout: no newline at end
              stdout-truncated: true
              stdout-dropped: 1234
              stderr: "bell \x07 nul \0 del \x7F ls \u2028 bom \uFEFF é ✓\r\n"
              note: stopped reading output 0.500 s after the command exited
  - name: web_health
    state: skipped
    hosts: []

"""#,
        "input-batch": #"""
name: WhateverIwant
expires-in: 3600.000
requests:
  - name: activate_dialup
    data:
      username: cranky
      note: |-
        two
        lines
      pw: "pl'ane \x01"
    secrets: [pw]
  - name: adhoc
    commands:
      - 'uptime && df -h'
      - [/bin/echo, hello, '{{username}}']
  - name: plain

"""#,
        "original-batch": #"""
# CafeBatch original batch, saved before it ran. Secrets are sealed to the origin's key.
batch: '20261129-153012-301-9f2c1a7be301'
name: provision
origin: jlore
created: '2026-11-29T15:30:12.345Z'
requests:
  - name: activate_dialup
    data:
      username: cranky
      shell: /bin/bash
      empty: ''
      multi: |
        a
        b
      quote: 'it''s "x"'
    secrets:
      pw: 'sealed:AAAABBBBCCCC=='
      token: 'sealed:DDDD'
    groups:
      - [canary1]
      - hosts: [web1, web2, web3]
        batch: '25%'
        max-failures: '1'
        pause: 30.000
        check: web_health
      - hosts: [db1]
        batch: '1'
        max-failures: '12.5%'
        pause: 0.125
    only:
      gw1: [b2]
    planned:
      gw1: 'sha256:abababababababababababababababababababababababababababababababab'
  - name: adhoc
    commands:
      - run: uptime
      - argv: [/bin/echo, a b]
  - name: plain

"""#,
    ]
}
