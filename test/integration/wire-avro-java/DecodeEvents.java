// Decodes ctrelay's Kafka records with Apache Avro's own Java implementation, the way a standard
// consumer would: every writer schema parsed by Avro's Schema.Parser, its fingerprint computed by
// Avro (SchemaNormalization), every single-object message decoded by Avro's BinaryMessageDecoder
// into GenericData with the standard logical-type conversions added. Nothing ctrelay-specific.
//
//   java -cp <avro jars>:<classes> DecodeEvents <dir>
//     <dir>/schemas/<16 hex>.avsc   one writer schema per file, named by ctrelay's fingerprint
//     <dir>/records.tsv             <topic> TAB <offset> TAB <base64 of the record value>
// Prints one JSON line per record: {"topic", "offset", "schema": <hex>, "record": {field: value}},
// each non-null leaf value as [<Java class>, <text>] (class and text are what the conversions
// produced), or one line {"error": ...} for a record Avro cannot decode (and exits 1).
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.JsonNode;
import java.io.File;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.avro.Conversions;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.SchemaStore;

public class DecodeEvents {
  static final DateTimeFormatter DATE_TIME = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS");
  static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("HH:mm:ss.SSSSSSSSS");
  static final JsonNodeFactory JSON = JsonNodeFactory.instance;

  public static void main(String[] args) throws Exception {
    File dir = new File(args[0]);
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    ObjectMapper mapper = new ObjectMapper();

    GenericData model = new GenericData();
    model.addLogicalTypeConversion(new Conversions.DecimalConversion());
    model.addLogicalTypeConversion(new Conversions.UUIDConversion());
    model.addLogicalTypeConversion(new TimeConversions.DateConversion());
    model.addLogicalTypeConversion(new TimeConversions.TimeMillisConversion());
    model.addLogicalTypeConversion(new TimeConversions.TimeMicrosConversion());
    model.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
    model.addLogicalTypeConversion(new TimeConversions.TimestampMicrosConversion());
    model.addLogicalTypeConversion(new TimeConversions.TimestampNanosConversion());
    model.addLogicalTypeConversion(new TimeConversions.LocalTimestampMillisConversion());
    model.addLogicalTypeConversion(new TimeConversions.LocalTimestampMicrosConversion());
    model.addLogicalTypeConversion(new TimeConversions.LocalTimestampNanosConversion());

    SchemaStore.Cache store = new SchemaStore.Cache();
    File[] files = new File(dir, "schemas").listFiles();
    java.util.Arrays.sort(files);
    for (File f : files) {
      String hex = f.getName().replace(".avsc", "");
      Schema schema = new Schema.Parser().parse(f);
      long fp = SchemaNormalization.parsingFingerprint64(schema);
      String avroHex = String.format("%016x", fp);
      if (!avroHex.equals(hex)) {
        out.println(mapper.writeValueAsString(Map.of("error", "fingerprint of schema " + hex + " is " + avroHex + " by Avro's SchemaNormalization")));
        out.flush();
        System.exit(1);
      }
      store.addSchema(schema);
    }
    // readSchema null: each message is read with its own writer schema, as found by fingerprint
    BinaryMessageDecoder<GenericRecord> decoder = new BinaryMessageDecoder<>(model, null, store);

    int failures = 0;
    for (String line : Files.readAllLines(new File(dir, "records.tsv").toPath(), StandardCharsets.UTF_8)) {
      if (line.isEmpty()) continue;
      String[] parts = line.split("\t");
      byte[] value = Base64.getDecoder().decode(parts[2]);
      ObjectNode o = JSON.objectNode();
      o.put("topic", parts[0]);
      o.put("offset", parts[1]);
      o.put("schema", String.format("%016x", ByteBuffer.wrap(value, 2, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong()));
      try {
        GenericRecord record = decoder.decode(value);
        o.set("record", leaf(record));
      } catch (Exception e) {
        failures++;
        o.put("error", e.toString() + (e.getCause() != null ? " caused by " + e.getCause() : ""));
      }
      out.println(mapper.writeValueAsString(o));
    }
    out.flush();
    System.exit(failures == 0 ? 0 : 1);
  }

  static JsonNode leaf(Object v) {
    if (v == null) return JSON.nullNode();
    if (v instanceof GenericRecord) {
      GenericRecord r = (GenericRecord) v;
      ObjectNode o = JSON.objectNode();
      for (Schema.Field f : r.getSchema().getFields()) {
        String column = f.getProp("ctrelay.column");
        o.set(column != null ? column : f.name(), leaf(r.get(f.pos())));
      }
      return o;
    }
    if (v instanceof List) {
      ArrayNode a = JSON.arrayNode();
      for (Object x : (List<?>) v) a.add(leaf(x));
      return a;
    }
    ArrayNode pair = JSON.arrayNode();
    String cls;
    String text;
    if (v instanceof ByteBuffer) {
      ByteBuffer b = ((ByteBuffer) v).duplicate();
      byte[] bytes = new byte[b.remaining()];
      b.get(bytes);
      cls = "ByteBuffer";
      text = HexFormat.of().formatHex(bytes);
    } else if (v instanceof CharSequence) {
      cls = "CharSequence";
      text = v.toString();
    } else if (v instanceof LocalDateTime) {
      cls = "LocalDateTime";
      text = DATE_TIME.format((LocalDateTime) v);
    } else if (v instanceof Instant) {
      cls = "Instant";
      text = DATE_TIME.format(((Instant) v).atOffset(ZoneOffset.UTC)) + "Z";
    } else if (v instanceof LocalTime) {
      cls = "LocalTime";
      text = TIME.format((LocalTime) v);
    } else if (v instanceof LocalDate) {
      cls = "LocalDate";
      text = v.toString();
    } else if (v instanceof BigDecimal) {
      cls = "BigDecimal";
      text = ((BigDecimal) v).toPlainString();
    } else if (v instanceof UUID) {
      cls = "UUID";
      text = v.toString();
    } else {
      cls = v.getClass().getSimpleName();
      text = v.toString();
    }
    pair.add(cls);
    pair.add(text);
    return pair;
  }
}
